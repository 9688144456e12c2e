// The networks on data the CTest programs check: every activation, depths 1-4, with and without
// biases, m != n_in (and widths that differ), each on its own random samples and targets.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "overflow/network.hpp"
#include "quadratic_cost.hpp"

constexpr overflow::Activation kAllActivations[] = {overflow::Activation::none,       overflow::Activation::isru,
                                                    overflow::Activation::tanh,       overflow::Activation::relu,
                                                    overflow::Activation::leaky_relu, overflow::Activation::sigmoid,
                                                    overflow::Activation::softplus,   overflow::Activation::gelu};

// dims {n_in, k_1, ..., m} of the cases, and their samples.
inline const std::vector<std::vector<std::int64_t>> kDataCaseDims = {{3, 2}, {3, 5, 2}, {4, 6, 3, 2}, {2, 5, 4, 3, 3}};
constexpr std::int64_t kDataCaseSamples = 7;

// Calls fn(flow, X) for each case (X n_in x samples, under 1/2 ||Yhat - Y||^2 with random Y, and the
// given leaky slope), drawing X, then Y, from rng; returns the number of cases.
template <class Fn>
int for_each_data_case(std::mt19937_64& rng, double slope, Fn&& fn) {
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::int64_t s = kDataCaseSamples;
  int count = 0;
  for (overflow::Activation act : kAllActivations) {
    for (const auto& dims : kDataCaseDims) {
      for (bool bias : {false, true}) {
        overflow::Network net(dims, bias);
        const std::vector<double> X = random_vector(static_cast<std::size_t>(net.n() * s), rng, normal);
        std::vector<double> target = random_vector(static_cast<std::size_t>(net.m() * s), rng, normal);
        const overflow::Flow flow(net, quadratic_cost_on(target.data(), net.m(), s), act,
                                  overflow::Inputs{X.data(), s, bias}, slope);
        fn(flow, X);
        ++count;
      }
    }
  }
  return count;
}
