// GenericSystem (generic_system.hpp) in the core's coordinates, tau = direction * t and z = y / scale, against
// the same quantities written out by hand: dz/dtau, its Jacobian (the user's mapped, and forward differences),
// J v and d(dz/dtau)/dtau, for each direction with and without a scale.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "overflow/generic_system.hpp"

namespace {

// f(t, y) = (y1 sin t, -y0 y1 + t^2, y0^3): non-autonomous, nonlinear, its Jacobian column-major below.
void rhs(double t, const double* y, double* dy, void* data) {
  ++*static_cast<int*>(data);
  dy[0] = y[1] * std::sin(t);
  dy[1] = -y[0] * y[1] + t * t;
  dy[2] = y[0] * y[0] * y[0];
}

void jac(double t, const double* y, double* J, void* data) {
  ++*static_cast<int*>(data);
  const double Jrow[3][3] = {{0, std::sin(t), 0}, {-y[1], -y[0], 0}, {3 * y[0] * y[0], 0, 0}};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) J[i + 3 * j] = Jrow[i][j];
}

// The same written out in the core's coordinates: dz/dtau = d f(d tau, s z) / s and its derivatives.
struct Expected {
  int d;
  std::vector<double> s;
  std::vector<double> y(const double* z) const { return {s[0] * z[0], s[1] * z[1], s[2] * z[2]}; }
  std::vector<double> f(double tau, const double* z) const {
    const std::vector<double> u = y(z);
    std::vector<double> out(3);
    int calls = 0;
    rhs(d * tau, u.data(), out.data(), &calls);
    for (int i = 0; i < 3; ++i) out[i] *= d / s[i];
    return out;
  }
  std::vector<double> J(double tau, const double* z) const {
    const std::vector<double> u = y(z);
    std::vector<double> out(9);
    int calls = 0;
    jac(d * tau, u.data(), out.data(), &calls);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) out[i + 3 * j] *= d * s[j] / s[i];
    return out;
  }
  // d/dtau of d f(d tau, y) / s: d^2 f_t / s = f_t / s, with f_t = (y1 cos t, 2 t, 0).
  std::vector<double> ft(double tau, const double* z) const {
    const std::vector<double> u = y(z);
    const double t = d * tau;
    return {u[1] * std::cos(t) / s[0], 2 * t / s[1], 0.0};
  }
};

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
  double scale = 0.0, err = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::fabs(b[i]));
    err = std::max(err, std::fabs(a[i] - b[i]));
  }
  return err / scale;
}

void check_coordinates(int direction, bool scaled) {
  const std::vector<double> s = scaled ? std::vector<double>{2.0, 0.5, 10.0} : std::vector<double>{1.0, 1.0, 1.0};
  const Expected ex{direction, s};
  int calls = 0;
  overflow::GenericSystem with_jac(rhs, &calls, 3, jac), differences(rhs, &calls, 3);
  for (overflow::GenericSystem* sys : {&with_jac, &differences}) {
    sys->set_coordinates(direction, scaled ? s.data() : nullptr);
    sys->set_difference_floor(1e-8);
  }
  const double tau = 0.7 * direction, z[3] = {0.3, -1.2, 0.8};
  std::vector<double> f(3), J(9), ft(3), v = {0.5, -1.0, 2.0}, jv(3), y(3), back(3);

  with_jac.eval(tau, z, f.data());
  CHECK(max_rel(f, ex.f(tau, z)) < 1e-15, "direction %d, scale %d: eval", direction, scaled);
  CHECK(with_jac.user_time(tau) == direction * tau && with_jac.core_time(with_jac.user_time(tau)) == tau, "times");
  with_jac.to_user(z, y.data());
  with_jac.to_core(y.data(), back.data());
  CHECK(max_rel(y, ex.y(z)) == 0 && max_rel(back, {z[0], z[1], z[2]}) < 1e-16, "states");

  with_jac.jacobian(tau, z, J.data());
  CHECK(max_rel(J, ex.J(tau, z)) < 1e-15, "direction %d, scale %d: the user's J mapped", direction, scaled);
  const int before = calls;
  differences.jacobian(tau, z, J.data());
  CHECK(calls - before == 4 && differences.difference_evaluations() == 4, "the difference J takes n + 1 calls");
  CHECK(max_rel(J, ex.J(tau, z)) < 1e-7, "direction %d, scale %d: difference J off by %g", direction, scaled,
        max_rel(J, ex.J(tau, z)));

  const std::vector<double> Jex = ex.J(tau, z);
  std::vector<double> jv_ex(3, 0.0);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) jv_ex[i] += Jex[i + 3 * j] * v[j];
  with_jac.jvp(tau, z, v.data(), jv.data());
  CHECK(max_rel(jv, jv_ex) < 1e-15, "direction %d, scale %d: J v from the user's J", direction, scaled);
  differences.jvp(tau, z, v.data(), jv.data());
  CHECK(max_rel(jv, jv_ex) < 1e-8, "direction %d, scale %d: J v by differences off by %g", direction, scaled,
        max_rel(jv, jv_ex));

  with_jac.eval(tau, z, f.data());
  with_jac.time_derivative(tau, z, f.data(), ft.data());
  CHECK(max_rel(ft, ex.ft(tau, z)) < 1e-7, "direction %d, scale %d: f_t off by %g", direction, scaled,
        max_rel(ft, ex.ft(tau, z)));
}

}  // namespace

int main() {
  for (int direction : {1, -1})
    for (bool scaled : {false, true}) check_coordinates(direction, scaled);
  int calls = 0;
  overflow::GenericSystem sys(rhs, &calls, 3);
  bool refused = false;
  try {
    sys.set_coordinates(0, nullptr);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  CHECK(refused, "direction 0 accepted");
  const double bad[3] = {1.0, -1.0, 1.0};
  refused = false;
  try {
    sys.set_coordinates(1, bad);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  CHECK(refused, "a negative scale accepted");
  return check_report("test_generic_system");
}
