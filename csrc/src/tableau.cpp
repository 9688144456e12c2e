#include "overflow/tableau.hpp"

namespace overflow {

const Tableau& tableau(Method method) {
  static const Tableau bs3 = detail::make_bs3();
  static const Tableau dopri5 = detail::make_dopri5();
  static const Tableau tsit5 = detail::make_tsit5();
  static const Tableau dop853 = detail::make_dop853();
  switch (method) {
    case Method::bs3: return bs3;
    case Method::dopri5: return dopri5;
    case Method::tsit5: return tsit5;
    case Method::dop853: return dop853;
  }
  return dopri5;
}

bool parse_method(const std::string& name, Method& out) {
  if (name == "bs3") out = Method::bs3;
  else if (name == "dopri5") out = Method::dopri5;
  else if (name == "tsit5") out = Method::tsit5;
  else if (name == "dop853") out = Method::dop853;
  else return false;
  return true;
}

std::vector<std::string> method_names() { return {"bs3", "dopri5", "tsit5", "dop853"}; }

}  // namespace overflow
