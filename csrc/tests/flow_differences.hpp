// The finite-difference oracle the CTest programs check a Flow's right-hand side against.
#pragma once
#include <cmath>
#include <cstddef>
#include <vector>

#include "overflow/network.hpp"

// max_i |dy_i + dg/dy_i| with dg/dy_i by central differences of Flow::value; max_ref gets max |dg/dy_i|.
inline double fd_error(const overflow::Flow& flow, overflow::FlowWorkspace& ws, const std::vector<double>& y,
                       const std::vector<double>& dy, double& max_ref) {
  double max_err = 0.0;
  std::vector<double> yp, ym;
  for (std::size_t i = 0; i < y.size(); ++i) {
    yp = y;
    ym = y;
    const double h = 1e-5 * (1.0 + std::fabs(y[i]));
    yp[i] += h;
    ym[i] -= h;
    const double fd = (flow.value(yp.data(), ws) - flow.value(ym.data(), ws)) / (2 * h);
    max_err = std::fmax(max_err, std::fabs(-dy[i] - fd));
    max_ref = std::fmax(max_ref, std::fabs(fd));
  }
  return max_err;
}
