// Buffer sizes checked before anything is allocated: a size whose arithmetic overflows, or whose
// bytes exceed the machine's physical memory, is an argument error (std::invalid_argument naming
// it) rather than a wrapped product, a std::length_error, or an allocation that ends in the OOM
// killer. The same rule as the Python layer's check_memory (overflow/_validate.py).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace overflow {

// a * b and a + b into out; false (out unchanged) if the result does not fit in std::size_t.
bool size_mul(std::size_t a, std::size_t b, std::size_t& out);
bool size_add(std::size_t a, std::size_t b, std::size_t& out);

// a * b, or std::invalid_argument("<what> = a x b does not fit in a size").
std::size_t checked_mul(std::size_t a, std::size_t b, const std::string& what);

// Bytes of physical memory of this machine (SIZE_MAX where the system does not say).
std::size_t physical_memory();

// "1.5 GiB" and the like, as in the messages below.
std::string format_bytes(double bytes);

// Throws std::invalid_argument("<what> needs N, more than this machine's M of physical memory")
// when `count` doubles do not fit in physical memory.
void check_memory(std::size_t count, const std::string& what);

}  // namespace overflow
