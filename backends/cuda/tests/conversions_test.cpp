// The kernels' f16 / bf16 conversions (hd.hpp, written without compiler half types so nvcc and the
// host compiler share them) against hal/host's: every 16-bit pattern back and forth, and f32 values
// around every rounding boundary.
#include "test_support.hpp"

namespace dshal::cuda::kernels {
namespace {

bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || f32_to_bits(a) == f32_to_bits(b); }

TEST(Conversions, EveryHalfAndBfloatPattern) {
  for (uint32_t h = 0; h <= 0xffffu; ++h) {
    ASSERT_TRUE(same(f16_to_f32(uint16_t(h)), ::dshal::f16_to_f32(uint16_t(h)))) << std::hex << h;
    ASSERT_TRUE(same(bf16_to_f32(uint16_t(h)), ::dshal::bf16_to_f32(uint16_t(h)))) << std::hex << h;
  }
}

TEST(Conversions, FloatToHalfAndBfloatRounding) {
  // Every f32 whose top 16 bits run over all patterns, with low bits at, just below and just
  // above the halfway points of both 16-bit formats.
  for (uint32_t hi = 0; hi <= 0xffffu; ++hi)
    for (uint32_t lo : {0x0000u, 0x0001u, 0x0fffu, 0x1000u, 0x1001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      const float f = bits_to_f32((hi << 16) | lo);
      ASSERT_EQ(f32_to_bf16(f), ::dshal::f32_to_bf16(f)) << std::hex << ((hi << 16) | lo);
      ASSERT_EQ(f32_to_f16(f), ::dshal::f32_to_f16(f)) << std::hex << ((hi << 16) | lo);
    }
}

}  // namespace
}  // namespace dshal::cuda::kernels
