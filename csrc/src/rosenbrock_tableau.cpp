// RODAS (Hairer & Wanner, Solving ODEs II, section IV.7, and their code rodas.f, METH = 1): a
// 6-stage Rosenbrock method of order 4 with an embedded order-3 solution, L-stable and stiffly
// accurate (the last two stages reproduce the solution, so the error estimate is the last stage).
#include "overflow/tableau.hpp"

namespace overflow::detail {

Tableau make_rodas4() {
  Tableau t;
  t.stages = 6;
  t.rosenbrock.gamma = 0.25;
  t.c = {0.0, 0.386, 0.21, 0.63, 1.0, 1.0};
  const double a5[4] = {0.1221224509226641e+01, 0.6019134481288629e+01, 0.1253708332932087e+02,
                        -0.6878860361058950e+00};
  // clang-format off: one matrix row to a line
  t.a = {0, 0, 0, 0, 0, 0,
         0.1544000000000000e+01, 0, 0, 0, 0, 0,
         0.9466785280815826e+00, 0.2557011698983284e+00, 0, 0, 0, 0,
         0.3314825187068521e+01, 0.2896124015972201e+01, 0.9986419139977817e+00, 0, 0, 0,
         a5[0], a5[1], a5[2], a5[3], 0, 0,
         a5[0], a5[1], a5[2], a5[3], 1.0, 0};
  t.rosenbrock.gamma_c = {
      0, 0, 0, 0, 0, 0,
      -0.5668800000000000e+01, 0, 0, 0, 0, 0,
      -0.2430093356833875e+01, -0.2063599157091915e+00, 0, 0, 0, 0,
      -0.1073529058151375e+00, -0.9594562251023355e+01, -0.2047028614809616e+02, 0, 0, 0,
      0.7496443313967647e+01, -0.1024680431464352e+02, -0.3399990352819905e+02, 0.1170890893206160e+02, 0, 0,
      0.8083246795921522e+01, -0.7981132988064893e+01, -0.3152159432874371e+02, 0.1631930543123136e+02,
      -0.6058818238834054e+01, 0};
  // clang-format on
  // y_new = y + a5 . k + k5 + k6 (row 6 of a plus k6); the embedded solution drops k6.
  t.b = {a5[0], a5[1], a5[2], a5[3], 1.0, 1.0};
  t.e = {0, 0, 0, 0, 0, 1.0};
  return t;
}

}  // namespace overflow::detail
