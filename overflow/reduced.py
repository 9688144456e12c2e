"""`method="reduced"`: the vector case integrated exactly in two variables (paper, section 3).

For N = 2, m = n = 1, the product z = w_2 w_1 obeys dz/dt = -f'(z) sqrt(c + 4 z^2) (eq. 19), where
c = S^2 - 4 z^2 is the conserved imbalance and S = ||w_1||^2 + ||w_2||^2. With s = +-1,
u = w_1 - s w_2^T and v = w_1 + s w_2^T evolve as du/dt = s f'(z) u and dv/dt = -s f'(z) v, so
u(t) = u(0) e^{s F(t)} and v(t) = v(0) e^{-s F(t)} with F(t) = int_0^t f'(z) dt. The core integrates
(z, F) only; the weights are rebuilt at the saved times, so the cost does not grow with the width.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._options import RunOptions
from .network import Network
from .result import Result

__all__ = ["integrate_reduced"]


def integrate_reduced(net: Network, y0: np.ndarray, o: RunOptions, save_weights: bool) -> Result:
    """The vector case from ``y0`` with the checked options ``o``, the weights rebuilt from (z, F).

    ``max_norm`` bounds ``|z|`` and ``|F|`` here (the weights grow like ``e^{|F|}``).
    """
    if net.depth != 2 or net.cost.shape != (1, 1) or not net.linear:
        raise ValueError(
            f"method='reduced' needs the linear vector case (depth 2, a 1x1 cost, no activation, no inputs), got "
            f"depth {net.depth}, a cost of shape {net.cost.shape}, activation {net.activation!r}"
            f"{' and inputs' if net.inputs is not None else ''}"
        )
    k = net.widths[0]
    w1, w2 = y0[:k], y0[k:]
    z0 = float(w2 @ w1)
    S = float(w1 @ w1 + w2 @ w2)
    c = max(S * S - 4.0 * z0 * z0, 0.0)  # >= 0 by Cauchy-Schwarz; rounding can dip below
    # Any s = +-1 gives the u, v decomposition; sign f'(0) makes u the centre-stable coordinate.
    s = -1.0 if net.cost.gradient(np.zeros((1, 1)))[0, 0] < 0 else 1.0
    u0, v0 = w1 - s * w2, w1 + s * w2
    sol = _core.integrate_reduced(
        net.cost.vg_address, net.cost.data, z0, c, o.t0, o.t1, o.t_eval, o.core(method="dop853", save_states=True)
    )

    def weights(F: np.ndarray) -> np.ndarray:
        e = np.exp(s * F)[:, None]
        u, v = u0 * e, v0 / e
        out = np.empty((F.size, 2 * k))
        np.add(u, v, out=out[:, :k])
        np.subtract(v, u, out=out[:, k:])
        out[:, :k] *= 0.5
        out[:, k:] *= 0.5 * s
        return out

    F = sol.states[:, 1]
    states = weights(F) if save_weights else np.zeros((0, 2 * k))
    if save_weights and F.size and sol.t[-1] == sol.t_final:
        final = states[-1]  # the last saved state is the final one
    else:
        final = weights(sol.final_state[1:2])[0]
    return Result(net, y0, sol, "reduced", states=states, final_state=final)
