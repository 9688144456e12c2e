// The System contract: what Solver, integrate, Session and the ensemble ask of the ODE they step.
// FlowSystem (flow_system.hpp) and GenericSystem (generic_system.hpp) are the two in the library;
// an embedder's own type works the same way.
//
// Required:
//   std::size_t dim() const;                               the state's size
//   double eval(double t, const double* y, double* dy);    dy = f(t, y); returns the monitored value
//                                                          (the loss g(y) of a gradient flow, 0 for
//                                                          any other ODE). A non-finite return or
//                                                          dy means "outside the domain": the step
//                                                          is shrunk, never accepted.
// Optional, detected by the traits below (a missing one switches a feature off, or is refused with
// a message when the feature is asked for):
//   double jvp(double t, const double* y, const double* v, double* out);
//       out = J(t, y) v and returns eval's value at y: the implicit methods (gauss4, gauss6, rodas4)
//       and "auto" need it.
//   void jacobian(double t, const double* y, double* J);
//       the whole J(t, y) (dim x dim, column-major) in one call, for a system that has it cheaper
//       than dim products J e_j (a generic ODE's own or finite-difference Jacobian); the implicit
//       steppers then assemble nothing and always solve with a dense LU.
//   void time_derivative(double t, const double* y, const double* f, double* ft);
//       ft = df/dt at (t, y), given f = f(t, y): a non-autonomous system's Rosenbrock stages need
//       it (the h gamma_i f_t terms of rodas.f); a system without it is autonomous (f_t = 0).
//   FactorLayout factor_layout() const;  double eval_factored(double t, const double* stage,
//       const double* base, const StageTerms& terms, double* dy, double* factors_out);
//       low-rank stage inputs (detail/stage_factors.hpp): the explicit engine forms only the
//       layers the layout keeps in full.
//   void invariants(const double* y, std::vector<double>& out) const;
//       quantities the exact flow conserves: the invariant_drift_above event reads them.
//   ProjectionResult project(double* y, const double* C0) const;
//       moves y back onto {invariants = C0} after each step (StepOptions::project).
//   PatternHandle activation_pattern();
//       a right-hand side that is smooth between switches of a pattern (relu-family networks,
//       detail/activation_pattern.hpp): the Solver freezes it for each step, cuts a step at the first
//       switch it finds on the dense output and switches there (a null pattern: none).
//   double gradient_norm(const double* y, const double* dy) const;
//       ||grad g|| where the state is not the weights themselves (gtol, the grad_norm outputs);
//       by default it is ||dy||.
#pragma once
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace overflow {

template <class S, class = void>
struct IsSystem : std::false_type {};
template <class S>
struct IsSystem<S, std::void_t<decltype(std::declval<const S&>().dim()),
                               decltype(std::declval<S&>().eval(0.0, static_cast<const double*>(nullptr),
                                                                static_cast<double*>(nullptr)))>>
    : std::bool_constant<
          std::is_convertible_v<decltype(std::declval<const S&>().dim()), std::size_t> &&
          std::is_convertible_v<decltype(std::declval<S&>().eval(0.0, static_cast<const double*>(nullptr),
                                                                 static_cast<double*>(nullptr))),
                                double>> {};

template <class S, class = void>
struct HasJvp : std::false_type {};
template <class S>
struct HasJvp<S, std::void_t<decltype(std::declval<S&>().jvp(0.0, static_cast<const double*>(nullptr),
                                                             static_cast<const double*>(nullptr),
                                                             static_cast<double*>(nullptr)))>> : std::true_type {};

template <class S, class = void>
struct HasJacobian : std::false_type {};
template <class S>
struct HasJacobian<S, std::void_t<decltype(std::declval<S&>().jacobian(
                          0.0, static_cast<const double*>(nullptr), static_cast<double*>(nullptr)))>> : std::true_type {
};

template <class S, class = void>
struct HasTimeDerivative : std::false_type {};
template <class S>
struct HasTimeDerivative<S, std::void_t<decltype(std::declval<S&>().time_derivative(
                                0.0, static_cast<const double*>(nullptr), static_cast<const double*>(nullptr),
                                static_cast<double*>(nullptr)))>> : std::true_type {};

template <class S, class = void>
struct HasStageFactors : std::false_type {};
template <class S>
struct HasStageFactors<S, std::void_t<decltype(std::declval<S&>().factor_layout())>> : std::true_type {};

template <class S, class = void>
struct HasInvariants : std::false_type {};
template <class S>
struct HasInvariants<S, std::void_t<decltype(std::declval<const S&>().invariants(
                            static_cast<const double*>(nullptr), std::declval<std::vector<double>&>()))>>
    : std::true_type {};

template <class S, class = void>
struct HasProject : std::false_type {};
template <class S>
struct HasProject<S, std::void_t<decltype(std::declval<S&>().project(
                         static_cast<double*>(nullptr), static_cast<const double*>(nullptr)))>> : std::true_type {};

template <class S, class = void>
struct HasActivationPattern : std::false_type {};
template <class S>
struct HasActivationPattern<S, std::void_t<decltype(std::declval<S&>().activation_pattern())>> : std::true_type {};

template <class S, class = void>
struct HasGradientNorm : std::false_type {};
template <class S>
struct HasGradientNorm<S, std::void_t<decltype(std::declval<const S&>().gradient_norm(
                              static_cast<const double*>(nullptr), static_cast<const double*>(nullptr)))>>
    : std::true_type {};

}  // namespace overflow
