// Butcher tableaux as data and one table of the methods and their properties (tableau.cpp); one
// engine per scheme runs them (explicit_rk.hpp, gauss_legendre.hpp, rosenbrock.hpp, radau.hpp).
#pragma once
#include <array>
#include <string>
#include <vector>

namespace overflow {

// How a method's stages are solved: explicit_rk, the explicit engine (explicit_rk.hpp); gauss, a
// full a, stages solved by Newton (gauss_legendre.hpp); rosenbrock, linearly implicit stages with
// (I/(h gamma) - J), a strictly lower a and the Jacobian terms' matrix gamma_c (rosenbrock.hpp);
// radau, Radau IIA collocation solved by simplified Newton on the eigenbasis of A^-1 (radau.hpp).
enum class Scheme { explicit_rk, gauss, rosenbrock, radau };

// What only the explicit engine reads: the second estimate, the dense-output stages and
// polynomials (tableau_data.cpp), and the stiffness-detection properties the registry derives.
struct ExplicitCoefficients {
  std::vector<double> e_low;  // optional second estimate (DOP853's 3rd-order one), stages + 1
  int extra_stages = 0;
  std::vector<double> extra_c;  // extra_stages
  std::vector<double> extra_a;  // extra_stages x (stages + 1 + extra_stages), row-major
  int dense_degree = 0;
  std::vector<double> dense;  // slots() x dense_degree: b_i(theta) = sum_p dense[i][p] theta^(p+1)
  // Where the stability region meets the negative real axis (|R(z)| <= 1 on [-boundary, 0]), and
  // the last stage p >= 1 with c_p = 1, whose pair with f(y_new) gives Hairer's estimate of the
  // spectral radius (-1: none, as for bs3).
  double stability_boundary = 0.0;
  int stiffness_stage = -1;
};

// What only the Rosenbrock engine reads (Hairer & Wanner's gamma and C_ij).
struct RosenbrockCoefficients {
  double gamma = 0.0;
  std::vector<double> gamma_c;  // stages x stages, strictly lower triangular
};

// What only the Radau engine reads (3 stages): A^-1 = T diag(gamma, [alpha, -beta; beta, alpha]) T^-1,
// which splits the Newton matrix into one real and one complex n x n system; the embedded
// estimate's weights; and the collocation polynomial u(theta) = y + sum_k theta^k sum_i
// dense[k-1][i] z_i through the stage increments z_i at c_i (Hairer & Wanner, Solving ODEs II, IV.8).
struct RadauCoefficients {
  double gamma = 0.0, alpha = 0.0, beta = 0.0;
  std::vector<double> T, T_inv;  // 3 x 3, row-major
  // err = (gamma / h I - J)^-1 (f(t, y) + sum_i error[i] z_i / h)
  std::vector<double> error;  // 3
  std::vector<double> dense;  // 3 x 3, row-major: row k - 1 gives theta^k's coefficient
};

// A method's coefficients and properties. Stage slots of one step: 0..stages-1 are the stages
// (slot 0 = f(t, y)), slot `stages` holds f(t + h, y_new) (needed by every explicit method for the
// error estimate and reused as the next step's slot 0), and the following extra_stages slots are
// evaluated only for dense output. The name, scheme and orders come from the method table
// (tableau.cpp); the coefficients from the scheme's data (tableau_data.cpp, gauss_tableau.cpp,
// rosenbrock_tableau.cpp).
struct Tableau {
  using Scheme = overflow::Scheme;
  std::string name;
  Scheme scheme = Scheme::explicit_rk;
  int order = 0;          // order of the propagated solution
  int error_order = 0;    // order of the embedded estimate
  int control_order = 0;  // the estimate behaves like h^(control_order + 1): step control uses it
  int dense_order = 0;    // order of the interpolant
  int stages = 0;
  std::vector<double> c;              // stages
  std::vector<double> a;              // stages x stages, row-major (strictly lower triangular but for gauss)
  std::vector<double> b;              // stages
  std::vector<double> e;              // local error = h * sum_i e_i K_i: stages + 1 (f(y_new) last); rosenbrock:
                                      // stages; gauss: none (step doubling); radau: none (its own)
  ExplicitCoefficients explicit_rk;   // scheme explicit_rk only
  RosenbrockCoefficients rosenbrock;  // scheme rosenbrock only
  RadauCoefficients radau;            // scheme radau only

  bool implicit() const { return scheme != Scheme::explicit_rk; }
  int slots() const { return stages + 1 + explicit_rk.extra_stages; }
};

// The methods, in the method table's order. The C ABI's enum of_method (overflow.h) numbers the
// first seven the same; OF_AUTO took code 7 before radau5 came, which has 8 (tableau.cpp asserts it).
enum class Method { bs3, dopri5, tsit5, dop853, gauss4, gauss6, rodas4, radau5 };
inline constexpr int kMethodCount = 8;

// One row of the method table, the one place a method is declared: its name (as Python and the
// command line spell it), its C ABI code, scheme, orders and the function giving its coefficients.
struct MethodInfo {
  Method method;
  const char* name;
  int c_code;  // enum of_method in overflow.h
  Scheme scheme;
  int order;
  int error_order;
  int control_order;
  int dense_order;
  Tableau (*coefficients)();
};

// "auto": this explicit pair, switched to this stiff method where the flow is stiff (solver.hpp).
struct AutoMethod {
  const char* name = "auto";
  int c_code = 7;  // OF_AUTO
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

// The method table, in Method order.
const std::array<MethodInfo, kMethodCount>& method_table();
const MethodInfo& method_info(Method method);
const char* scheme_name(Scheme scheme);  // "explicit_rk", "gauss", "rosenbrock", "radau"
const Tableau& tableau(Method method);
// Return false for an unknown name or code.
bool parse_method(const std::string& name, Method& out);
bool parse_method_choice(const std::string& name, MethodChoice& out);
bool parse_method_choice(int c_code, MethodChoice& out);  // enum of_method, OF_AUTO included
std::vector<std::string> method_names();                  // the explicit methods
std::vector<std::string> implicit_method_names();         // Gauss-Legendre, Rosenbrock, Radau

namespace detail {
// The coefficients of each method (name, scheme and orders are the table's).
Tableau make_bs3();
Tableau make_dopri5();
Tableau make_tsit5();
Tableau make_dop853();
Tableau make_gauss4();  // Gauss-Legendre, 2 stages
Tableau make_gauss6();  // 3 stages
Tableau make_rodas4();  // Hairer & Wanner's RODAS (order 4(3), L-stable)
Tableau make_radau5();  // Radau IIA, 3 stages (order 5, L-stable; radau_tableau.cpp)
// The negative real axis' stability boundary of an explicit tableau (0 for implicit ones).
double real_stability_boundary(const Tableau& tab);
}  // namespace detail

}  // namespace overflow
