// The per-neuron invariants of networks with a positively homogeneous activation (linear, relu,
// leaky relu; on data or on the identity input), and the projection of a state back onto them
// (neuron_projection.cpp): StepOptions::project for those flows.
#pragma once
#include <cstddef>

#include "overflow/detail/invariant_projection.hpp"
#include "overflow/network.hpp"

namespace overflow {

// For hidden neuron j of layer i (i = 1..N-1): ||row j of [W_i | b_i]||^2 - ||column j of W_{i+1}||^2
// (incoming weights with the bias, outgoing ones without b_{i+1}), layer by layer: sum_i k_i values.
std::size_t neuron_invariants_size(const Network& net);
void neuron_invariants(const Network& net, const double* y, double* out);

// Moves y (in place, by the minimal-norm Newton correction) until max |c(y) - c0| <= tolerance *
// max(1, max |c0|, max |y|^2), at most max_newton steps; c0 as neuron_invariants writes it.
ProjectionResult project_onto_neuron_invariants(const Network& net, double* y, const double* c0,
                                                double tolerance = 1e-15, int max_newton = 3);

}  // namespace overflow
