// A minimal check macro for the CTest programs: prints the failure and counts it.
#pragma once
#include <cstdio>

inline int& check_failures() {
  static int failures = 0;
  return failures;
}

#define CHECK(cond, ...)                                          \
  do {                                                            \
    if (!(cond)) {                                                \
      std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                   \
      std::printf("\n");                                          \
      ++check_failures();                                         \
    }                                                             \
  } while (0)

inline int check_report(const char* name) {
  std::printf("%s: %s (%d failures)\n", name, check_failures() ? "FAILED" : "passed", check_failures());
  return check_failures() ? 1 : 0;
}
