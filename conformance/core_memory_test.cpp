// core tier: buffers, copies in every direction with offsets, fill.
#include <numeric>

#include "harness.hpp"

namespace dshal::conformance {
namespace {

std::vector<uint8_t> pattern_bytes(uint64_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (uint64_t i = 0; i < n; ++i) v[i] = uint8_t((i * 131 + seed * 17 + (i >> 8)) & 0xff);
  return v;
}

class Buffers : public DeviceTest {};

TEST_P(Buffers, SizesRoundTrip) {
  for (uint64_t size : {uint64_t(0), uint64_t(1), uint64_t(3), uint64_t(4097), uint64_t(64) << 20}) {
    SCOPED_TRACE("size " + std::to_string(size));
    Buffer b;
    DSHAL_ASSERT_OK(dev().alloc(size, &b));
    EXPECT_EQ(b.size(), size);
    const std::vector<uint8_t> data = pattern_bytes(size, uint32_t(size));
    DSHAL_ASSERT_OK(str().copy_h2d(data.data(), b, 0, size));
    std::vector<uint8_t> back(size, 0);
    DSHAL_ASSERT_OK(str().copy_d2h(b, 0, back.data(), size));
    DSHAL_ASSERT_OK(str().synchronize());
    EXPECT_TRUE(back == data) << "round trip changed the bytes";
  }
}

TEST_P(Buffers, PropertiesAreSane) {
  const dshal_device_properties& p = dev().properties();
  EXPECT_GT(std::string(p.name).size(), 0u);
  EXPECT_GT(std::string(p.vendor).size(), 0u);
  EXPECT_GT(p.memory_bytes, 0u);
  EXPECT_GT(p.max_alloc_bytes, 0u);
  EXPECT_LE(p.max_alloc_bytes, p.memory_bytes);
  EXPECT_GT(p.alignment, 0u);
  EXPECT_EQ(p.alignment & (p.alignment - 1), 0u) << "alignment " << p.alignment << " is not a power of two";
  EXPECT_TRUE(p.gemm_dtypes & DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32) || p.gemm_dtypes & DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16) ||
              p.gemm_dtypes & DSHAL_DTYPE_BIT(DSHAL_DTYPE_F16))
      << "the device offers no GEMM input type";
}

TEST_P(Buffers, OutOfMemoryIsAnError) {
  const uint64_t too_big[] = {dev().properties().max_alloc_bytes + 1, UINT64_MAX / 2, UINT64_MAX};
  for (uint64_t size : too_big) {
    Buffer b;
    DSHAL_EXPECT_CODE(dev().alloc(size, &b), DSHAL_ERROR_OUT_OF_MEMORY);
    EXPECT_FALSE(b) << "a failed alloc must leave no buffer";
  }
  Buffer ok;  // the device still works afterwards
  DSHAL_ASSERT_OK(dev().alloc(4096, &ok));
}

class Copies : public DeviceTest {};

TEST_P(Copies, EveryDirectionWithOffsets) {
  const uint64_t n = 10007;  // odd, not a multiple of any vector width
  const std::vector<uint8_t> src = pattern_bytes(n, 7);
  Buffer a, b;
  DSHAL_ASSERT_OK(dev().alloc(n + 300, &a));
  Guarded out(id(), n - 100);
  const uint8_t zero = 0;
  DSHAL_ASSERT_OK(str().fill(a, 0, n + 300, &zero, 1));
  DSHAL_ASSERT_OK(str().copy_h2d(src.data() + 5, a, 33, n - 5));                             // h2d at an offset
  DSHAL_ASSERT_OK(str().copy_d2d(a, 33 + 17, out.buffer(), out.offset(), n - 100));          // d2d, both offset
  DSHAL_ASSERT_OK(dev().alloc(n, &b));
  DSHAL_ASSERT_OK(str().copy_d2d(out.buffer(), out.offset() + 1, b, 3, n - 101));             // d2d again
  std::vector<uint8_t> back(n - 104);
  DSHAL_ASSERT_OK(str().copy_d2h(b, 3, back.data(), back.size()));                           // d2h at an offset
  DSHAL_ASSERT_OK(str().synchronize());
  const std::vector<std::byte> mid = out.read_checked();
  for (uint64_t i = 0; i < n - 100; ++i)
    ASSERT_EQ(uint8_t(mid[i]), src[5 + 17 + i]) << "d2d byte " << i;
  for (uint64_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], src[5 + 17 + 1 + i]) << "d2h byte " << i;
}

TEST_P(Copies, BetweenDevicesOfTheAdapter) {
  const std::vector<std::string> ids = sibling_ids(id());
  if (ids.size() < 2) GTEST_SKIP() << "needs two devices of " << id() << "'s backend";
  const std::string other = ids[0] == id() ? ids[1] : ids[0];
  const std::vector<uint8_t> src = pattern_bytes(4099, 3);
  Buffer a = upload(id(), src);
  Guarded out(other, src.size());
  DSHAL_ASSERT_OK(str().copy_d2d(a, 0, out.buffer(), out.offset(), src.size()));
  DSHAL_ASSERT_OK(str().synchronize());
  const std::vector<std::byte> got = out.read_checked();
  for (size_t i = 0; i < src.size(); ++i) ASSERT_EQ(uint8_t(got[i]), src[i]) << "byte " << i;
}

TEST_P(Copies, FillPatterns) {
  const uint64_t bytes = 4 * 1001;
  for (uint32_t width : {1u, 2u, 4u}) {
    SCOPED_TRACE("pattern width " + std::to_string(width));
    Guarded out(id(), bytes);
    const uint32_t pattern = 0x9abcdef1u;
    DSHAL_ASSERT_OK(str().fill(out.buffer(), out.offset() + width, bytes - 2 * width, &pattern, width));
    DSHAL_ASSERT_OK(str().synchronize());
    const std::vector<std::byte> got = out.read_checked();
    const auto* p = reinterpret_cast<const uint8_t*>(&pattern);
    for (uint64_t i = 0; i < bytes; ++i) {
      const bool inside = i >= width && i < bytes - width;
      const uint8_t want = inside ? p[(i - width) % width] : 0;
      ASSERT_EQ(uint8_t(got[i]), want) << "byte " << i;
    }
  }
}

DSHAL_INSTANTIATE(core, Buffers);
DSHAL_INSTANTIATE(core, Copies);

}  // namespace
}  // namespace dshal::conformance
