/* Reads "name value" lines (# starts a comment) and compares a program's results with them: the
   examples check their numbers against values computed by overflow's Python API
   (tests/test_examples.py writes nothing; it checks the same file against the Python API). */
#ifndef OVERFLOW_EXAMPLES_EXPECTED_H
#define OVERFLOW_EXAMPLES_EXPECTED_H
#include <math.h>
#include <stdio.h>
#include <string.h>

/* 0 and *value set when `name` is in the file; -1 otherwise. */
static int expected_value(const char* path, const char* name, double* value) {
  FILE* fh = fopen(path, "r");
  char key[128];
  double v;
  int found = -1;
  if (!fh) return -1;
  while (found != 0 && fscanf(fh, " %127s", key) == 1) {
    if (key[0] == '#') {
      int c;
      while ((c = fgetc(fh)) != '\n' && c != EOF) {
      }
      continue;
    }
    if (fscanf(fh, " %lf", &v) != 1) break;
    if (strcmp(key, name) == 0) {
      *value = v;
      found = 0;
    }
  }
  fclose(fh);
  return found;
}

/* Prints "name value" and, with an expected file, checks |value - expected| <= rtol |expected| + atol.
   Returns 1 on a mismatch or a missing entry. */
static int report(const char* path, const char* name, double value, double rtol, double atol) {
  double want;
  printf("%s %.12g", name, value);
  if (!path) {
    printf("\n");
    return 0;
  }
  if (expected_value(path, name, &want) != 0) {
    printf("   MISSING in %s\n", path);
    return 1;
  }
  if (!(fabs(value - want) <= rtol * fabs(want) + atol)) {
    printf("   MISMATCH: expected %.12g\n", want);
    return 1;
  }
  printf("   ok (expected %.12g)\n", want);
  return 0;
}
#endif
