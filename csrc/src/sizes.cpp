#include "overflow/detail/sizes.hpp"

#include <cstdio>
#include <limits>
#include <stdexcept>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace overflow {

bool size_mul(std::size_t a, std::size_t b, std::size_t& out) {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return false;
  out = a * b;
  return true;
}

bool size_add(std::size_t a, std::size_t b, std::size_t& out) {
  if (b > std::numeric_limits<std::size_t>::max() - a) return false;
  out = a + b;
  return true;
}

std::size_t checked_mul(std::size_t a, std::size_t b, const std::string& what) {
  std::size_t out = 0;
  if (!size_mul(a, b, out))
    throw std::invalid_argument(what + " = " + std::to_string(a) + " x " + std::to_string(b) +
                                " does not fit in a size");
  return out;
}

std::size_t physical_memory() {
  static const std::size_t bytes = [] {
    std::size_t total = 0;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0 && !size_mul(static_cast<std::size_t>(pages), static_cast<std::size_t>(page), total))
      total = 0;
#endif
    return total > 0 ? total : std::numeric_limits<std::size_t>::max();
  }();
  return bytes;
}

std::string format_bytes(double bytes) {
  static const struct {
    const char* unit;
    double size;
  } units[] = {{"TiB", 1099511627776.0}, {"GiB", 1073741824.0}, {"MiB", 1048576.0}, {"KiB", 1024.0}};
  char text[64];
  for (const auto& u : units) {
    if (bytes >= u.size) {
      std::snprintf(text, sizeof text, "%.3g %s", bytes / u.size, u.unit);
      return text;
    }
  }
  std::snprintf(text, sizeof text, "%.0f bytes", bytes);
  return text;
}

void check_memory(std::size_t count, const std::string& what) {
  std::size_t bytes = 0;
  const bool fits = size_mul(count, sizeof(double), bytes);
  if (fits && bytes <= physical_memory()) return;
  const double need = static_cast<double>(count) * static_cast<double>(sizeof(double));
  throw std::invalid_argument(what + " needs " + format_bytes(need) + ", more than this machine's " +
                              format_bytes(static_cast<double>(physical_memory())) + " of physical memory");
}

}  // namespace overflow
