// Radau IIA with 3 stages (Hairer & Wanner, Solving ODEs II, sections IV.5 and IV.8; their code
// radau5.f): collocation at the Radau points c = (4 -+ sqrt(6)) / 10 and 1, order 5, L-stable and
// stiffly accurate (y_new is the last stage). A, b and the eigenvalues of A^-1 in closed form; the
// eigenvectors T, the embedded estimate and the collocation polynomial are derived from them here
// (small exact 3 x 3 solves), so the only rounding is that of sqrt(6) and the cube roots.
#include <array>
#include <cmath>
#include <complex>

#include "overflow/tableau.hpp"

namespace overflow::detail {

namespace {

using Mat3 = std::array<double, 9>;  // row-major

Mat3 inverse(const Mat3& m) {
  const double c00 = m[4] * m[8] - m[5] * m[7], c01 = m[5] * m[6] - m[3] * m[8], c02 = m[3] * m[7] - m[4] * m[6];
  const double det = m[0] * c00 + m[1] * c01 + m[2] * c02;
  return {c00 / det, (m[2] * m[7] - m[1] * m[8]) / det, (m[1] * m[5] - m[2] * m[4]) / det,
          c01 / det, (m[0] * m[8] - m[2] * m[6]) / det, (m[2] * m[3] - m[0] * m[5]) / det,
          c02 / det, (m[1] * m[6] - m[0] * m[7]) / det, (m[0] * m[4] - m[1] * m[3]) / det};
}

// The eigenvector of m for the eigenvalue lambda, scaled to last entry 1: the first two rows of
// (m - lambda I) v = 0 with v_3 = 1 (their 2 x 2 block is regular for A^-1 of Radau IIA).
std::array<std::complex<double>, 3> eigenvector(const Mat3& m, std::complex<double> lambda) {
  const std::complex<double> a = m[0] - lambda, b = m[1], c = m[3], d = m[4] - lambda;
  const std::complex<double> r0 = -m[2], r1 = -m[5];
  const std::complex<double> det = a * d - b * c;
  return {(r0 * d - b * r1) / det, (a * r1 - c * r0) / det, 1.0};
}

}  // namespace

Tableau make_radau5() {
  const double s6 = std::sqrt(6.0);
  Tableau t;
  t.stages = 3;
  t.c = {(4.0 - s6) / 10.0, (4.0 + s6) / 10.0, 1.0};
  // clang-format off: one matrix row to a line
  t.a = {(88.0 - 7.0 * s6) / 360.0, (296.0 - 169.0 * s6) / 1800.0, (-2.0 + 3.0 * s6) / 225.0,
         (296.0 + 169.0 * s6) / 1800.0, (88.0 + 7.0 * s6) / 360.0, (-2.0 - 3.0 * s6) / 225.0,
         (16.0 - s6) / 36.0, (16.0 + s6) / 36.0, 1.0 / 9.0};
  // clang-format on
  t.b = {t.a[6], t.a[7], t.a[8]};

  RadauCoefficients& r = t.radau;
  // The eigenvalues of A^-1: the real root of its characteristic polynomial and the complex pair.
  const double c3 = std::cbrt(3.0), c9 = std::cbrt(9.0);
  r.gamma = 3.0 + c9 - c3;
  r.alpha = 3.0 + 0.5 * (c3 - c9);
  r.beta = 0.5 * std::sqrt(3.0) * (c3 + c9);
  Mat3 a_inv;
  {
    Mat3 a;
    for (std::size_t k = 0; k < 9; ++k) a[k] = t.a[k];
    a_inv = inverse(a);
  }
  // Columns of T: the real eigenvector, then the real and imaginary parts of the eigenvector of
  // alpha - i beta, so that A^-1 (t1 + i t2) = (alpha - i beta)(t1 + i t2) gives the rotation block.
  const auto real = eigenvector(a_inv, r.gamma);
  const auto pair = eigenvector(a_inv, {r.alpha, -r.beta});
  Mat3 T;
  for (std::size_t i = 0; i < 3; ++i) {
    T[i * 3 + 0] = real[i].real();
    T[i * 3 + 1] = pair[i].real();
    T[i * 3 + 2] = pair[i].imag();
  }
  const Mat3 T_inv = inverse(T);
  r.T.assign(T.begin(), T.end());
  r.T_inv.assign(T_inv.begin(), T_inv.end());

  // The embedded solution y + h (gamma0 f(t, y) + sum_i bhat_i f_i), gamma0 = 1 / gamma, of order 3:
  // nodes 0, c_1, c_2, 1 with sum_j bhat_j c_j^(k-1) = 1/k for k = 1..3 fixes bhat. Its difference
  // from y_new, with h f_i = (A^-1 z)_i from the collocation equations, is
  // gamma0 h f(t, y) + sum_i e_i z_i, e = (bhat - b)^T A^-1; radau.hpp filters it through
  // (I - h gamma0 J)^-1 and so stores error = e / gamma0 (radau5.f's DD1..DD3).
  const double g0 = 1.0 / r.gamma;
  Mat3 V = {1.0, 1.0, 1.0, t.c[0], t.c[1], t.c[2], t.c[0] * t.c[0], t.c[1] * t.c[1], 1.0};
  const Mat3 V_inv = inverse(V);
  const double rhs[3] = {1.0 - g0, 0.5, 1.0 / 3.0};
  double bhat_minus_b[3];
  for (std::size_t j = 0; j < 3; ++j) {
    double acc = 0.0;
    for (std::size_t k = 0; k < 3; ++k) acc += V_inv[j * 3 + k] * rhs[k];
    bhat_minus_b[j] = acc - t.b[j];
  }
  r.error.assign(3, 0.0);
  for (std::size_t i = 0; i < 3; ++i) {
    double acc = 0.0;
    for (std::size_t j = 0; j < 3; ++j) acc += bhat_minus_b[j] * a_inv[j * 3 + i];
    r.error[i] = acc / g0;
  }

  // The collocation polynomial u(theta) - y = sum_k q_k theta^k takes z_i at c_i: q = P z with
  // P the inverse of the matrix (c_i^k), i = rows, k = 1..3 columns.
  Mat3 C;
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t k = 0; k < 3; ++k) C[i * 3 + k] = std::pow(t.c[i], static_cast<double>(k + 1));
  const Mat3 P = inverse(C);
  r.dense.assign(P.begin(), P.end());
  return t;
}

}  // namespace overflow::detail
