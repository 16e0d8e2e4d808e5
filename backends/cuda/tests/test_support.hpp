// What the kernel-math tests share: deterministic data, host reference buffers (hal/host's kernels
// take dshal_buffer handles that are HostBuffers), and element-exact comparison.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "hd.hpp"
#include "host/dtype.hpp"
#include "host/kernels.hpp"

namespace dshal::cuda::kernels::test {

// A host buffer of bytes and the handle hal/host's kernels read it through.
struct HostBytes {
  explicit HostBytes(size_t n) : bytes(n) { hb = {bytes.data(), n, false}; }
  HostBytes(const HostBytes&) = delete;
  dshal_buffer handle() { return host::as_handle(&hb); }
  std::vector<std::byte> bytes;
  host::HostBuffer hb;
};

// n values of dtype t from a fixed sequence in [-range, range], stored as t.
inline std::vector<std::byte> make_values(dshal_dtype t, uint64_t n, uint32_t seed, float range = 2.0f) {
  std::vector<std::byte> out(n * elem_bytes(t));
  uint32_t x = seed * 2654435761u + 12345u;
  for (uint64_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    const float v = (float(x >> 8) / float(1u << 24) * 2.0f - 1.0f) * range;
    store(out.data(), t, i, v);
  }
  return out;
}

}  // namespace dshal::cuda::kernels::test
