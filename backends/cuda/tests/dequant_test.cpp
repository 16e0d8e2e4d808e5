// gemm_quant's dequantize-then-GEMM path on the host: the dequantize body bit for bit against hal/host's
// dequantization (gemm_detail's convert_w, portable and the active ISA's) on FP8 with partial 128x128
// edge blocks and INT4 with ragged groups, over row ranges that start and end inside scale blocks; the
// strided conversion body against hal/host/dtype.hpp; the chunk plan; the choice of path.
#include "dequant.hpp"
#include "test_support.hpp"

#include "host/gemm/gemm_internal.hpp"

namespace dshal::cuda::kernels {
namespace {

using test::make_values;

struct QuantW {
  std::vector<uint8_t> w;
  std::vector<float> scales;
  uint32_t block_n = 0, block_k = 0;
};
// Random W bytes (every fp8 code but NaN, whose payload a GPU does not keep) and scales in [-0.01, 0.01].
QuantW make_quant(dshal_dtype t, uint64_t n, uint64_t k, uint32_t block_n, uint32_t block_k, uint32_t seed) {
  QuantW q{std::vector<uint8_t>(t == DSHAL_DTYPE_INT4 ? n * k / 2 : n * k), {}, block_n, block_k};
  uint32_t x = seed;
  for (auto& b : q.w) {
    b = uint8_t((x = x * 1664525u + 1013904223u) >> 24);
    if (t == DSHAL_DTYPE_FP8_E4M3 && (b & 0x7f) == 0x7f) b &= 0xfe;
  }
  const uint64_t sn = (n + block_n - 1) / block_n, sk = (k + block_k - 1) / block_k;
  const std::vector<std::byte> s = make_values(DSHAL_DTYPE_F32, sn * sk, seed + 1, 0.01f);
  q.scales.resize(sn * sk);
  std::memcpy(q.scales.data(), s.data(), s.size());
  return q;
}

// dequant(W) rows [n0, n0 + rows) through the body over its launch shape, and through hal/host's
// convert_w of isa; equal bit for bit.
void expect_dequant_matches(const host::gemm_detail::Isa& isa, dshal_dtype t, uint64_t n, uint64_t k, uint32_t block_n,
                            uint32_t block_k, uint64_t n0, uint64_t rows) {
  const QuantW q = make_quant(t, n, k, block_n, block_k, uint32_t(n * 31 + k));
  DequantArgs a;
  a.w = {q.w.data(), t, k, q.scales.data(), block_n, block_k, k};
  a.n0 = n0;
  a.rows = rows;
  std::vector<float> got(rows * k, -1.0f);
  a.out = got.data();
  const LaunchShape shape = dequant_shape(a);
  for_each_thread(shape, [&](Index3 b, Index3 th) { dequant_weight_thread(b, th, shape.block, a); });

  host::gemm_detail::Src src;
  src.p = q.w.data();
  src.t = t;
  src.rs = int64_t(k);
  src.ks = 1;
  src.scales = q.scales.data();
  src.scale_ld = int64_t((k + block_k - 1) / block_k);
  src.bn = block_n;
  src.bk = block_k;
  const uint64_t ldd = (k + 15) / 16 * 16;  // convert_w pads each row to a multiple of 16
  std::vector<float> want(rows * ldd);
  isa.gemv.convert_w(src, int64_t(n0), int(rows), 0, int64_t(k), want.data(), int64_t(ldd));
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < k; ++c)
      ASSERT_EQ(f32_to_bits(got[r * k + c]), f32_to_bits(want[r * ldd + c]))
          << isa.name << " row " << n0 + r << " col " << c << ": got " << got[r * k + c] << ", host " << want[r * ldd + c];
}

TEST(Dequant, Fp8PartialEdgeBlocksBitExact) {
  for (const auto* isa : {&host::gemm_detail::portable_isa(), &host::gemm_detail::active_isa()}) {
    // 300 = 2 * 128 + 44 rows, 200 = 128 + 72 columns: partial blocks on both edges.
    ASSERT_NO_FATAL_FAILURE(expect_dequant_matches(*isa, DSHAL_DTYPE_FP8_E4M3, 300, 200, 128, 128, 0, 300));
    // A row range starting and ending inside scale blocks (as a chunk never does, but the body must not care).
    ASSERT_NO_FATAL_FAILURE(expect_dequant_matches(*isa, DSHAL_DTYPE_FP8_E4M3, 300, 200, 128, 128, 100, 150));
  }
}

TEST(Dequant, Int4RaggedGroupsBitExact) {
  for (const auto* isa : {&host::gemm_detail::portable_isa(), &host::gemm_detail::active_isa()}) {
    // K = 96 in groups of 40: 40, 40, 16. Odd n0 and rows: nibbles from the middle of a byte run.
    ASSERT_NO_FATAL_FAILURE(expect_dequant_matches(*isa, DSHAL_DTYPE_INT4, 7, 96, 1, 40, 0, 7));
    ASSERT_NO_FATAL_FAILURE(expect_dequant_matches(*isa, DSHAL_DTYPE_INT4, 7, 96, 1, 40, 3, 3));
  }
}

// A bf16 matrix at a padded row stride to f32 (A for cuBLASLt, C into the scratch) and back out of
// an f32 scratch into the columns of a strided f16 / bf16 C, against hal/host/dtype.hpp.
TEST(Dequant, ConvertStridedBothWays) {
  const uint64_t rows = 5, cols = 37, ld = 41;
  for (dshal_dtype t : {DSHAL_DTYPE_BF16, DSHAL_DTYPE_F16}) {
    const std::vector<std::byte> src = make_values(t, rows * ld, 3, 70000.0f);  // f16 overflows past 65504
    std::vector<float> f32(rows * cols, -1.0f);
    DequantConvertArgs in{{src.data(), t, ld}, {f32.data(), DSHAL_DTYPE_F32, cols}, rows, cols};
    LaunchShape shape = dequant_convert_shape(in);
    for_each_thread(shape, [&](Index3 b, Index3 th) { dequant_convert_thread(b, th, shape.block, in); });
    for (uint64_t r = 0; r < rows; ++r)
      for (uint64_t c = 0; c < cols; ++c)
        ASSERT_EQ(f32_to_bits(f32[r * cols + c]), f32_to_bits(dshal::load_f32(src.data(), t, r * ld + c))) << r << " " << c;

    // f32 values with low mantissa bits set (ties and non-ties) into columns [3, 3 + cols) of a wider C.
    const std::vector<std::byte> wide = make_values(DSHAL_DTYPE_F32, rows * cols, 4, 70000.0f);
    std::vector<uint16_t> c(rows * ld, 0xabcd);
    DequantConvertArgs out{{wide.data(), DSHAL_DTYPE_F32, cols}, {c.data() + 3, t, ld}, rows, cols};
    shape = dequant_convert_shape(out);
    for_each_thread(shape, [&](Index3 b, Index3 th) { dequant_convert_thread(b, th, shape.block, out); });
    for (uint64_t r = 0; r < rows; ++r)
      for (uint64_t j = 0; j < ld; ++j) {
        if (j < 3 || j >= 3 + cols) {
          ASSERT_EQ(c[r * ld + j], 0xabcd) << "outside the columns: " << r << " " << j;
          continue;
        }
        const float v = load(wide.data(), DSHAL_DTYPE_F32, r * cols + j - 3);
        const uint16_t want = t == DSHAL_DTYPE_BF16 ? dshal::f32_to_bf16(v) : dshal::f32_to_f16(v);
        ASSERT_EQ(c[r * ld + j], want) << r << " " << j << " from " << v;
      }
  }
}

// Every row in exactly one chunk, in order; no chunk over the cap when a row fits; chunks a
// multiple of align except the last, unless align rows do not fit.
void expect_plan(uint64_t n, uint64_t k, uint64_t cap, uint64_t align, size_t want_chunks) {
  const std::vector<DequantChunk> p = plan_dequant_chunks(n, k, cap, align);
  ASSERT_EQ(p.size(), want_chunks) << n << " x " << k << " cap " << cap;
  uint64_t next = 0;
  const bool aligned = cap / (k * 4) >= align;
  for (size_t i = 0; i < p.size(); ++i) {
    ASSERT_EQ(p[i].n0, next) << "chunk " << i;
    ASSERT_GT(p[i].rows, 0u);
    if (k * 4 <= cap) {
      ASSERT_LE(p[i].rows * k * 4, cap) << "chunk " << i;
    }
    if (i + 1 < p.size()) {
      if (aligned) {
        ASSERT_EQ(p[i].rows % align, 0u) << "chunk " << i;
      }
      ASSERT_EQ(p[i].rows, p[0].rows) << "only the last chunk may be narrower";
    }
    next += p[i].rows;
  }
  ASSERT_EQ(next, n);
}

TEST(Dequant, ChunkPlan) {
  const uint64_t mib64 = uint64_t(64) << 20;
  expect_plan(2048, 7168, mib64, 128, 1);          // 56 MiB of f32: one chunk
  expect_plan(18432, 7168, mib64, 128, 8);         // 504 MiB: 2304 rows (18 blocks) a chunk, 8 chunks
  expect_plan(18432 + 44, 7168, mib64, 128, 9);    // a partial last block in a ninth chunk
  expect_plan(129280, 7168, mib64, 128, 57);       // vocabulary-sized N
  expect_plan(1000, 200000, mib64, 128, 13);       // 128 rows do not fit: 83 rows a chunk, blocks split
  expect_plan(3, 20000000, mib64, 128, 3);         // a row over the cap: one row a chunk
  expect_plan(4096, 2048, mib64, 64, 1);           // int4: block_n 1, aligned to 64
  expect_plan(100000, 4096, uint64_t(1) << 20, 16, 1563);  // 64 rows a chunk (a multiple of 16)
  EXPECT_EQ(plan_dequant_chunks(18432, 7168, mib64, 128)[0].rows, 2304u);
  EXPECT_EQ(plan_dequant_chunks(1000, 200000, mib64, 128)[0].rows, 83u);
}

TEST(Dequant, PathChoice) {
  dshal_gemm_quant_desc d{};
  d.m = kDequantGemmMinRows, d.n = 256, d.k = 256, d.alpha = 1.0f;
  d.w.dtype = DSHAL_DTYPE_FP8_E4M3;
  EXPECT_TRUE(use_dequant_gemm(d));
  d.w.dtype = DSHAL_DTYPE_INT4;
  EXPECT_TRUE(use_dequant_gemm(d));
  d.m = kDequantGemmMinRows - 1;
  EXPECT_FALSE(use_dequant_gemm(d)) << "decode shapes stay on the per-output kernel";
  d.m = 4096;
  d.alpha = 0.0f;
  EXPECT_FALSE(use_dequant_gemm(d)) << "alpha == 0 must not read A or W";
  d.alpha = 1.0f, d.k = 0;
  EXPECT_FALSE(use_dequant_gemm(d));
  d.k = 256, d.w.dtype = DSHAL_DTYPE_BF16;
  EXPECT_FALSE(use_dequant_gemm(d));
}

}  // namespace
}  // namespace dshal::cuda::kernels
