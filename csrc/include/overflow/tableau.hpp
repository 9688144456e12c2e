// Butcher tableaux as data, one registry of the methods and their properties (tableau.cpp); one
// engine per scheme runs them (explicit_rk.hpp, gauss_legendre.hpp, rosenbrock.hpp).
#pragma once
#include <string>
#include <vector>

namespace overflow {

// Stage slots of one step: 0..stages-1 are the stages (slot 0 = f(t, y)), slot `stages` holds
// f(t + h, y_new) (needed by every method for the error estimate and reused as the next step's
// slot 0), and the following `extra_stages` slots are evaluated only for dense output.
struct Tableau {
  std::string name;
  int order = 0;        // order of the propagated solution
  int error_order = 0;    // order of the embedded estimate
  int control_order = 0;  // the estimate behaves like h^(control_order + 1): step control uses it
  int stages = 0;
  std::vector<double> c;        // stages
  std::vector<double> a;        // stages x stages, row-major, strictly lower triangular
  std::vector<double> b;        // stages
  std::vector<double> e;        // stages + 1: local error = h * sum_i e_i K_i
  std::vector<double> e_low;    // optional second estimate (DOP853's 3rd-order one), stages + 1
  int extra_stages = 0;
  std::vector<double> extra_c;  // extra_stages
  std::vector<double> extra_a;  // extra_stages x (stages + 1 + extra_stages), row-major
  int dense_degree = 0;
  std::vector<double> dense;    // slots() x dense_degree: b_i(theta) = sum_p dense[i][p] theta^(p+1)

  int dense_order = 0;          // order of the interpolant
  // explicit_rk: the explicit engine; gauss: a full a, stages solved by Newton (gauss_legendre.hpp);
  // rosenbrock: linearly implicit stages with (I/(h gamma) - J), a strictly lower a, the matrix
  // gamma_c of the Jacobian terms and m the solution weights (rosenbrock.hpp).
  enum class Scheme { explicit_rk, gauss, rosenbrock } scheme = Scheme::explicit_rk;
  bool implicit() const { return scheme != Scheme::explicit_rk; }
  double gamma = 0.0;
  std::vector<double> gamma_c;  // stages x stages, strictly lower triangular (Hairer's C_ij)

  // Derived from the coefficients by the registry (tableau.cpp), for stiffness detection:
  // where the stability region meets the negative real axis (|R(z)| <= 1 on [-boundary, 0];
  // explicit methods), and the last stage p >= 1 with c_p = 1, whose pair with f(y_new) gives
  // Hairer's estimate of the spectral radius (-1: none, as for bs3).
  double stability_boundary = 0.0;
  int stiffness_stage = -1;

  int slots() const { return stages + 1 + extra_stages; }
};

enum class Method { bs3, dopri5, tsit5, dop853, gauss4, gauss6, rodas4 };

// "auto": this explicit pair, switched to this stiff method where the flow is stiff (solver.hpp).
struct AutoMethod {
  Method nonstiff = Method::dop853;
  Method stiff = Method::rodas4;
};
inline constexpr AutoMethod kAutoMethod{};

// A method as users name it: one tableau, or "auto": start = kAutoMethod's explicit pair, stiff =
// its stiff method (StepOptions::stiff).
struct MethodChoice {
  const Tableau* start = nullptr;
  const Tableau* stiff = nullptr;
};

const Tableau& tableau(Method method);
// Returns false for an unknown name.
bool parse_method(const std::string& name, Method& out);
bool parse_method_choice(const std::string& name, MethodChoice& out);
std::vector<std::string> method_names();           // the explicit methods
std::vector<std::string> implicit_method_names();  // Gauss-Legendre collocation, Rosenbrock

namespace detail {
Tableau make_bs3();
Tableau make_dopri5();
Tableau make_tsit5();
Tableau make_dop853();
Tableau make_gauss(int stages);  // Gauss-Legendre, 2 or 3 stages (orders 4 and 6)
Tableau make_rodas4();           // Hairer & Wanner's RODAS (order 4(3), L-stable)
// The negative real axis' stability boundary of an explicit tableau (0 for implicit ones).
double real_stability_boundary(const Tableau& tab);
}  // namespace detail

}  // namespace overflow
