#include "overflow/tableau.hpp"

namespace overflow {

const Tableau& tableau(Method method) {
  static const Tableau bs3 = detail::make_bs3();
  static const Tableau dopri5 = detail::make_dopri5();
  static const Tableau tsit5 = detail::make_tsit5();
  static const Tableau dop853 = detail::make_dop853();
  static const Tableau gauss4 = detail::make_gauss(2);
  static const Tableau gauss6 = detail::make_gauss(3);
  static const Tableau rodas4 = detail::make_rodas4();
  switch (method) {
    case Method::bs3: return bs3;
    case Method::dopri5: return dopri5;
    case Method::tsit5: return tsit5;
    case Method::dop853: return dop853;
    case Method::gauss4: return gauss4;
    case Method::gauss6: return gauss6;
    case Method::rodas4: return rodas4;
  }
  return dopri5;
}

bool parse_method(const std::string& name, Method& out) {
  if (name == "bs3") out = Method::bs3;
  else if (name == "dopri5") out = Method::dopri5;
  else if (name == "tsit5") out = Method::tsit5;
  else if (name == "dop853") out = Method::dop853;
  else if (name == "gauss4") out = Method::gauss4;
  else if (name == "gauss6") out = Method::gauss6;
  else if (name == "rodas4") out = Method::rodas4;
  else return false;
  return true;
}

std::vector<std::string> method_names() { return {"bs3", "dopri5", "tsit5", "dop853"}; }

std::vector<std::string> implicit_method_names() { return {"gauss4", "gauss6", "rodas4"}; }

}  // namespace overflow
