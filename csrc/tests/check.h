/* The C test programs' check macro (check.hpp is the C++ programs'): prints the failure and counts
   it in `failures`, which the program's main reports. */
#ifndef OVERFLOW_TESTS_CHECK_H
#define OVERFLOW_TESTS_CHECK_H
#include <stdio.h>

static int failures = 0;
#define CHECK(cond, ...)                                     \
  do {                                                       \
    if (!(cond)) {                                           \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      printf(__VA_ARGS__);                                   \
      printf("\n");                                          \
      ++failures;                                            \
    }                                                        \
  } while (0)

#endif
