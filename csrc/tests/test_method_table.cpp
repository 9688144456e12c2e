// The method table (tableau.cpp) is the one source of a method's name, C ABI code, scheme and
// orders: every lookup (by name, by code, the name lists, "auto") agrees with it, each tableau
// carries its row's properties, and only its scheme's coefficients. The C ABI's codes are checked
// against their published values in overflow.h, written out here independently.
#include <cstring>
#include <string>
#include <vector>

#include "check.hpp"
#include "overflow/overflow.h"
#include "overflow/tableau.hpp"

int main() {
  using namespace overflow;
  const struct {
    int code;
    const char* name;
  } abi[] = {{OF_BS3, "bs3"},       {OF_DOPRI5, "dopri5"}, {OF_TSIT5, "tsit5"},   {OF_DOP853, "dop853"},
             {OF_GAUSS4, "gauss4"}, {OF_GAUSS6, "gauss6"}, {OF_RODAS4, "rodas4"}, {OF_RADAU5, "radau5"}};
  static_assert(sizeof(abi) / sizeof(abi[0]) == kMethodCount, "one C code per method");
  for (const auto& [code, name] : abi) {
    MethodChoice choice;
    CHECK(parse_method_choice(code, choice) && choice.start && !choice.stiff, "code %d", code);
    if (choice.start)
      CHECK(choice.start->name == name, "code %d is %s, expected %s", code, choice.start->name.c_str(), name);
  }

  std::vector<std::string> explicit_names, implicit_names;
  for (std::size_t i = 0; i < method_table().size(); ++i) {
    const MethodInfo& row = method_table()[i];
    CHECK(static_cast<std::size_t>(row.method) == i, "row %zu is out of Method order", i);
    CHECK(&method_info(row.method) == &row, "%s: method_info", row.name);
    Method m;
    CHECK(parse_method(row.name, m) && m == row.method, "%s: parse_method(name)", row.name);
    MethodChoice by_name, by_code;
    CHECK(parse_method_choice(row.name, by_name) && parse_method_choice(row.c_code, by_code), "%s", row.name);
    CHECK(by_name.start == &tableau(row.method) && by_code.start == by_name.start && !by_code.stiff, "%s", row.name);
    const Tableau& t = tableau(row.method);
    CHECK(t.name == row.name && t.scheme == row.scheme && t.order == row.order && t.error_order == row.error_order &&
              t.control_order == row.control_order && t.dense_order == row.dense_order,
          "%s: the tableau's properties differ from its row", row.name);
    (row.scheme == Scheme::explicit_rk ? explicit_names : implicit_names).emplace_back(row.name);

    // Each scheme's data apart: sizes by scheme, and nothing of another scheme's part.
    const auto s = static_cast<std::size_t>(t.stages);
    CHECK(t.c.size() == s && t.a.size() == s * s && t.b.size() == s, "%s: c, a, b sizes", row.name);
    const std::size_t e_size = row.scheme == Scheme::explicit_rk ? s + 1 : row.scheme == Scheme::rosenbrock ? s : 0;
    CHECK(t.e.size() == e_size, "%s: e has %zu entries, expected %zu", row.name, t.e.size(), e_size);
    const ExplicitCoefficients& x = t.explicit_rk;
    if (row.scheme == Scheme::explicit_rk) {
      CHECK(x.dense.size() == static_cast<std::size_t>(t.slots() * x.dense_degree) && x.dense_degree > 0 &&
                x.stability_boundary > 0,
            "%s: dense output and stability boundary", row.name);
    } else {
      CHECK(x.e_low.empty() && x.extra_stages == 0 && x.dense.empty() && x.stability_boundary == 0 &&
                x.stiffness_stage < 0,
            "%s: an implicit method has explicit-only data", row.name);
    }
    if (row.scheme == Scheme::rosenbrock)
      CHECK(t.rosenbrock.gamma > 0 && t.rosenbrock.gamma_c.size() == s * s, "%s: gamma, gamma_c", row.name);
    else
      CHECK(t.rosenbrock.gamma == 0 && t.rosenbrock.gamma_c.empty(), "%s: Rosenbrock data", row.name);
    const RadauCoefficients& r = t.radau;
    if (row.scheme == Scheme::radau)
      CHECK(r.gamma > 0 && r.T.size() == 9 && r.T_inv.size() == 9 && r.error.size() == 3 && r.dense.size() == 9,
            "%s: Radau data", row.name);
    else
      CHECK(r.gamma == 0 && r.T.empty() && r.error.empty() && r.dense.empty(), "%s: Radau data", row.name);
  }
  CHECK(method_names() == explicit_names, "method_names() differs from the table's explicit rows");
  CHECK(implicit_method_names() == implicit_names, "implicit_method_names() differs from the table");

  // "auto", by name and by OF_AUTO; nothing else parses.
  MethodChoice by_name, by_code;
  CHECK(parse_method_choice("auto", by_name) && parse_method_choice(OF_AUTO, by_code), "auto");
  CHECK(by_name.start == &tableau(kAutoMethod.nonstiff) && by_name.stiff == &tableau(kAutoMethod.stiff) &&
            by_code.start == by_name.start && by_code.stiff == by_name.stiff,
        "auto is the explicit pair and the stiff method of kAutoMethod");
  CHECK(std::strcmp(kAutoMethod.name, "auto") == 0 && kAutoMethod.c_code == OF_AUTO, "auto's name and code");
  for (int code : {-1, OF_RADAU5 + 1, 100}) {
    MethodChoice c;
    CHECK(!parse_method_choice(code, c), "code %d parsed", code);
  }
  for (const char* name : {"", "Auto", "DOP853", "RK45", "dopri", "gauss8"}) {
    Method m;
    MethodChoice c;
    CHECK(!parse_method(name, m) && !parse_method_choice(name, c), "'%s' parsed", name);
  }
  return check_report("test_method_table");
}
