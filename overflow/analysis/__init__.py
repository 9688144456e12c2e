"""Local analysis of the gradient flow at a point: Hessian of ``g``, critical-point classification
(theorem 4 / lemma 17 of the paper) and the linearization of the flow at an equilibrium."""

from .critical import CriticalPoint, critical_point, lemma17_direction
from .hessian import dense_hessian, hessian_operator, hessian_vector_product
from .linearization import Linearization, linearization

__all__ = [
    "CriticalPoint",
    "Linearization",
    "critical_point",
    "dense_hessian",
    "hessian_operator",
    "hessian_vector_product",
    "lemma17_direction",
    "linearization",
]
