// Embedding overflow in a C++ control loop: a discrete-time plant x+ = A x + B u runs its own loop
// with the policy u = -K x, and between plant steps the policy K = W2 W1 (a two-layer linear
// network, width 3) moves along the gradient flow of the discrete LQR cost
//   f(K) = tr(P_K Sigma0),   P_K = Q + K^T R K + (A - BK)^T P_K (A - BK)
// (overflow.costs.dlqr in Python), one solver step at a time up to the next plant step's time.
//
//   embed_cpp [expected.txt]   # with the file: compare with values from overflow's Python API
#include <cmath>
#include <cstdio>
#include <vector>

#include "overflow/flow_system.hpp"
#include "overflow/network.hpp"
#include "overflow/solver.hpp"

extern "C" {
#include "expected.h"
}

namespace {

constexpr int NX = 2, NU = 1;  // states, inputs
// A double integrator sampled at dt = 0.1.
const double A[NX * NX] = {1.0, 0.1, 0.0, 1.0};
const double B[NX * NU] = {0.005, 0.1};
const double Q[NX * NX] = {1.0, 0.0, 0.0, 1.0};
const double R[NU * NU] = {0.1};
const double Sigma0[NX * NX] = {1.0, 0.0, 0.0, 1.0};

using Mat = std::vector<double>;  // row-major

Mat mul(const Mat& a, const Mat& b, int n, int k, int m, bool ta = false, bool tb = false) {
  Mat c(static_cast<std::size_t>(n * m), 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j)
      for (int p = 0; p < k; ++p)
        c[i * m + j] += (ta ? a[p * n + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * m + j]);
  return c;
}

// Solves X - F^T X F = M (transpose = true) or X - F X F^T = M for X, n x n, through the n^2 x n^2
// linear system (Gaussian elimination with partial pivoting; n is 2 here).
Mat stein(const Mat& F, const Mat& M, int n, bool transpose) {
  const int N = n * n;
  Mat S(static_cast<std::size_t>(N * (N + 1)), 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const int row = i * n + j;
      S[row * (N + 1) + row] += 1.0;
      for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {  // X_ij -= sum_ab G_ia X_ab G_jb with G = F^T or F
          const double g = transpose ? F[a * n + i] * F[b * n + j] : F[i * n + a] * F[j * n + b];
          S[row * (N + 1) + (a * n + b)] -= g;
        }
      S[row * (N + 1) + N] = M[row];
    }
  for (int c = 0; c < N; ++c) {
    int piv = c;
    for (int r = c + 1; r < N; ++r)
      if (std::fabs(S[r * (N + 1) + c]) > std::fabs(S[piv * (N + 1) + c])) piv = r;
    for (int k = 0; k <= N; ++k) std::swap(S[c * (N + 1) + k], S[piv * (N + 1) + k]);
    for (int r = 0; r < N; ++r) {
      if (r == c) continue;
      const double f = S[r * (N + 1) + c] / S[c * (N + 1) + c];
      for (int k = c; k <= N; ++k) S[r * (N + 1) + k] -= f * S[c * (N + 1) + k];
    }
  }
  Mat X(static_cast<std::size_t>(N));
  for (int r = 0; r < N; ++r) X[r] = S[r * (N + 1) + N] / S[r * (N + 1) + r];
  return X;
}

// The cost ABI: f(K) and its gradient 2 ((R + B^T P B) K - B^T P A) Y, Y - F Y F^T = Sigma0;
// NaN outside the stabilizing gains (Jury's test for a 2 x 2 closed loop F = A - B K).
double dlqr_cost(const double* K, std::int64_t m, std::int64_t n, double* grad, void*) {
  if (m != NU || n != NX) return std::nan("");
  const Mat Km(K, K + NU * NX), Am(A, A + 4), Bm(B, B + 2), Qm(Q, Q + 4), Rm(R, R + 1), S0(Sigma0, Sigma0 + 4);
  Mat F = Am;
  const Mat BK = mul(Bm, Km, NX, NU, NX);
  for (int i = 0; i < NX * NX; ++i) F[i] -= BK[i];
  const double tr = F[0] + F[3], det = F[0] * F[3] - F[1] * F[2];
  if (!(std::fabs(det) < 1.0 && std::fabs(tr) < 1.0 + det)) return std::nan("");
  Mat M = mul(Km, mul(Rm, Km, NU, NU, NX), NX, NU, NX, true);  // K^T R K
  for (int i = 0; i < NX * NX; ++i) M[i] += Qm[i];
  const Mat P = stein(F, M, NX, true), Y = stein(F, S0, NX, false);
  double value = 0.0;
  for (int i = 0; i < NX * NX; ++i) value += P[i] * S0[i];    // tr(P Sigma0), both symmetric
  Mat G = mul(mul(Bm, P, NU, NX, NX, true), Bm, NU, NX, NU);  // B^T P B
  for (int i = 0; i < NU * NU; ++i) G[i] += Rm[i];
  Mat D = mul(G, Km, NU, NU, NX);
  const Mat BtPA = mul(mul(Bm, P, NU, NX, NX, true), Am, NU, NX, NX);
  for (int i = 0; i < NU * NX; ++i) D[i] -= BtPA[i];
  const Mat g = mul(D, Y, NU, NX, NX);
  for (int i = 0; i < NU * NX; ++i) grad[i] = 2.0 * g[i];
  return value;
}

// K = W2 W1 from the state (W1: 3 x 2, then W2: 1 x 3).
void policy(const double* y, double* K) {
  for (int c = 0; c < NX; ++c) {
    K[c] = 0.0;
    for (int k = 0; k < 3; ++k) K[c] += y[6 + k] * y[k * NX + c];
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace overflow;
  const char* expected = argc > 1 ? argv[1] : nullptr;
  Network net({NX, 3, NU});
  Cost cost;
  cost.value_and_grad = &dlqr_cost;
  cost.m = NU;
  cost.n = NX;
  Flow flow(net, cost);
  FlowSystem system(flow);
  StepOptions opt;
  opt.rtol = 1e-10;
  opt.atol = 1e-12;
  Solver<FlowSystem> solver(system, tableau(Method::dopri5), opt);
  // W1 = [[1, 0], [0, 1], [0.5, 0.5]], W2 = [0.6, 1.1, 0.8]: K(0) = [1, 1.5], a stabilizing gain.
  const double y0[9] = {1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.6, 1.1, 0.8};
  solver.init(0.0, y0);
  if (!std::isfinite(solver.value())) {
    std::fprintf(stderr, "K(0) does not stabilize the plant\n");
    return 2;
  }

  const int plant_steps = 200;
  const double policy_time_per_step = 0.1;  // flow time the policy moves between plant steps
  double x[NX] = {1.0, 0.0}, K[NX], plant_cost = 0.0;
  long solver_steps = 0;
  for (int k = 0; k < plant_steps; ++k) {
    policy(solver.y(), K);
    const double u = -(K[0] * x[0] + K[1] * x[1]);
    plant_cost += x[0] * x[0] + x[1] * x[1] + R[0] * u * u;
    const double x0 = A[0] * x[0] + A[1] * x[1] + B[0] * u, x1 = A[2] * x[0] + A[3] * x[1] + B[1] * u;
    x[0] = x0;
    x[1] = x1;
    // The policy update between plant steps: adaptive solver steps up to the next plant time.
    const double bound = (k + 1) * policy_time_per_step;
    while (solver.t() < bound) {
      const StepOutcome outcome = solver.step(bound);
      if (outcome != StepOutcome::accepted) {
        std::fprintf(stderr, "the policy flow failed at t = %g\n", solver.t());
        return 2;
      }
      ++solver_steps;
    }
  }
  policy(solver.y(), K);
  std::printf("%d plant steps, %ld solver steps, %lld evaluations; final x = (%.3g, %.3g)\n", plant_steps, solver_steps,
              static_cast<long long>(solver.nfev()), x[0], x[1]);
  // The loop steps to every plant time and Python integrates straight through with t_eval; both
  // follow the exact flow to ~1e-9 at rtol 1e-10, so 1e-6 relative is a safe and telling bound.
  int bad = 0;
  bad |= report(expected, "embed_cpp.K0", K[0], 1e-6, 1e-9);
  bad |= report(expected, "embed_cpp.K1", K[1], 1e-6, 1e-9);
  bad |= report(expected, "embed_cpp.cost", solver.value(), 1e-6, 1e-9);
  bad |= report(expected, "embed_cpp.plant_cost", plant_cost, 1e-6, 1e-9);
  return bad;
}
