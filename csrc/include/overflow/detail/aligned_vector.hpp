// State-sized buffers on 64-byte (cache-line) boundaries. The stepper's fused passes read up to a
// dozen of them at once; with malloc's 16-byte alignment a quarter of the 32-byte loads (all of
// the 64-byte ones) straddle two cache lines: the DOP853 step on a 384-entry state took 1.39 us
// instead of 0.76 us.
#pragma once
#include <cstddef>
#include <new>
#include <vector>

namespace overflow {

constexpr std::size_t kCacheLine = 64;

template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kCacheLine))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(kCacheLine)); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const noexcept {
    return false;
  }
};

using AlignedVector = std::vector<double, AlignedAllocator<double>>;

// n rounded up to whole cache lines of doubles: the stride between vectors packed in one buffer,
// so that each of them starts on a line too.
constexpr std::size_t padded_length(std::size_t n) {
  constexpr std::size_t per_line = kCacheLine / sizeof(double);
  return (n + per_line - 1) / per_line * per_line;
}

}  // namespace overflow
