// adapters/npu-sim/tests/nz_prepack_test.cpp: prepack_weight writes Ascend's FRACTAL_NZ layout.
// The layout is written out here independently of npu_nz_pack.cpp: for each group, an n x k weight
// becomes [ceil(k/16)][ceil(n/16) * 16][16], element (r, c) at ((c/16) * R1*16 + r) * 16 + c % 16,
// with zeros in the padding of partial fractals. The test packs a weight with odd n and k, a padded
// row stride and a padded group stride (every element a distinct bit pattern), reads the packed
// storage back with copy_d2h and checks every position, padding included. (That read goes past the
// buffer's reported size, the plain weight's: hal would refuse it; the adapter holds the storage.) It also checks which
// descriptors query_op declines (f32 GEMM inputs, prepacking types the cube does not read).
// Usage: npu_sim_nz_prepack_test <path to libdshal_npu_sim.so>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "../npu_sim.hpp"  // the adapter's own handle layout: this test reads packed storage directly
#include "plugin_under_test.hpp"

namespace {

using npu_sim_test::check;

constexpr uint64_t kGroups = 2, kN = 37, kK = 50, kLd = 53;  // n, k not multiples of 16
constexpr uint64_t kGroupStrideBytes = kN * kLd * 2 + 64;

uint64_t ceil16(uint64_t x) { return (x + 15) / 16; }

// The weight element (g, r, c) as raw f16 bits: distinct, finite, never 0.
uint16_t element(uint64_t g, uint64_t r, uint64_t c) { return uint16_t(1 + (g * kN + r) * kK + c); }

// A plain source weight and its packed copy.
struct Weights {
  dshal_buffer src = nullptr, packed = nullptr;
};

Weights check_layout(npu_sim_test::Plugin& p) {
  // The plain weight, with gap bytes of 0xee (what the host uploads) or 0 (what reads back).
  auto plain_weight = [](std::byte gap) {
    std::vector<std::byte> w((kGroups - 1) * kGroupStrideBytes + ((kN - 1) * kLd + kK) * 2, gap);
    for (uint64_t g = 0; g < kGroups; ++g)
      for (uint64_t r = 0; r < kN; ++r)
        for (uint64_t c = 0; c < kK; ++c) {
          const uint16_t v = element(g, r, c);
          std::memcpy(w.data() + g * kGroupStrideBytes + (r * kLd + c) * 2, &v, 2);
        }
    return w;
  };
  const std::vector<std::byte> plain = plain_weight(std::byte{0xee});
  Weights w;
  dshal_buffer& src = w.src;
  dshal_buffer& packed = w.packed;
  if (p.t->buffer_alloc(p.dev, plain.size(), &src) != DSHAL_OK) p.setup_failed("buffer_alloc", p.t->last_error());
  dshal_prepack_desc d{};
  d.struct_size = sizeof d;
  d.groups = kGroups;
  d.n = kN;
  d.k = kK;
  d.w.buffer = src;
  d.w.dtype = DSHAL_DTYPE_F16;
  d.w.ld = kLd;
  d.w_group_stride_bytes = kGroupStrideBytes;
  check(p.t->copy_h2d(p.stream, plain.data(), src, 0, plain.size()) == DSHAL_OK &&
            p.t->prepack_weight(p.stream, &d, &packed) == DSHAL_OK && p.t->stream_synchronize(p.stream) == DSHAL_OK,
        "prepack_weight of a 2 x 37 x 50 f16 weight (ld 53, padded group stride) succeeds");
  if (!packed) return w;

  const uint64_t rows = ceil16(kN) * 16, group_elems = ceil16(kK) * rows * 16;
  std::vector<uint16_t> nz(kGroups * group_elems, 0xffff);
  check(mprotect(packed->data, packed->reserved_bytes, PROT_READ) == 0, "the test can open the packed pages");
  std::memcpy(nz.data(), packed->data, nz.size() * 2);
  mprotect(packed->data, packed->reserved_bytes, PROT_NONE);
  uint64_t wrong = 0, first_wrong = ~uint64_t(0);
  for (uint64_t g = 0; g < kGroups; ++g)
    for (uint64_t r = 0; r < rows; ++r)
      for (uint64_t c = 0; c < ceil16(kK) * 16; ++c) {
        const uint64_t at = g * group_elems + ((c / 16) * rows + r) * 16 + c % 16;
        const uint16_t want = r < kN && c < kK ? element(g, r, c) : 0;
        if (nz[at] != want && wrong++ == 0) first_wrong = at;
      }
  if (wrong) std::printf("%llu packed elements differ, the first at index %llu\n", (unsigned long long)wrong,
                         (unsigned long long)first_wrong);
  check(wrong == 0, "every element sits at its FRACTAL_NZ position, padding zeroed");

  // Copies out unpack: the whole plain range (gaps read as zeros), and a range starting and ending
  // inside elements.
  const std::vector<std::byte> want = plain_weight(std::byte{0});
  std::vector<std::byte> whole(plain.size()), part(1001);
  check(p.t->copy_d2h(p.stream, packed, 0, whole.data(), whole.size()) == DSHAL_OK &&
            p.t->copy_d2h(p.stream, packed, kGroupStrideBytes - 3, part.data(), part.size()) == DSHAL_OK &&
            p.t->stream_synchronize(p.stream) == DSHAL_OK,
        "copy_d2h out of the packed buffer succeeds");
  check(whole == want, "copy_d2h of the packed buffer gives the plain layout it was packed from");
  check(std::equal(part.begin(), part.end(), want.begin() + kGroupStrideBytes - 3),
        "a copy_d2h starting and ending inside elements gives the same bytes");
  const uint16_t one = 0x3c00;
  check(p.t->copy_h2d(p.stream, &one, packed, 0, 2) == DSHAL_ERROR_UNSUPPORTED, "copy_h2d into a packed weight is refused");
  return w;
}

// A batched GEMM over both groups gives the same bits from the packed B as from the plain one (the
// cube reads the same elements in the same order), and a batch that does not start at a group of
// the packed weight is refused.
void check_batched_gemm(npu_sim_test::Plugin& p, const Weights& w) {
  const uint64_t m = 3, group_stride = kGroupStrideBytes / 2;  // elements
  std::vector<uint16_t> a(m * kK);
  for (uint64_t i = 0; i < a.size(); ++i) a[i] = uint16_t(0x3c00 + (i % 97) * 8);  // f16 1.0 .. ~1.7
  dshal_buffer A = nullptr, plain_c = nullptr, packed_c = nullptr;
  const uint64_t c_bytes = 2 * m * kN * 4;
  if (p.t->buffer_alloc(p.dev, a.size() * 2, &A) != DSHAL_OK || p.t->buffer_alloc(p.dev, c_bytes, &plain_c) != DSHAL_OK ||
      p.t->buffer_alloc(p.dev, c_bytes, &packed_c) != DSHAL_OK)
    p.setup_failed("buffer_alloc", p.t->last_error());
  dshal_gemm_desc d{};
  d.struct_size = sizeof d;
  d.trans_b = 1;
  d.m = m;
  d.n = kN;
  d.k = kK;
  d.batch = 2;
  d.alpha = 1;
  d.a = {A, 0, DSHAL_DTYPE_F16, kK, 0};  // broadcast
  d.b = {w.src, 0, DSHAL_DTYPE_F16, kLd, group_stride};
  d.c = {plain_c, 0, DSHAL_DTYPE_F32, kN, m * kN};
  dshal_gemm_desc packed_d = d;
  packed_d.b = {w.packed, 0, DSHAL_DTYPE_F16, kK, group_stride};
  packed_d.c.buffer = packed_c;
  std::vector<float> plain_out(2 * m * kN), packed_out(2 * m * kN, -1.0f);
  check(p.t->copy_h2d(p.stream, a.data(), A, 0, a.size() * 2) == DSHAL_OK && p.t->gemm(p.stream, &d) == DSHAL_OK &&
            p.t->gemm(p.stream, &packed_d) == DSHAL_OK &&
            p.t->copy_d2h(p.stream, plain_c, 0, plain_out.data(), c_bytes) == DSHAL_OK &&
            p.t->copy_d2h(p.stream, packed_c, 0, packed_out.data(), c_bytes) == DSHAL_OK &&
            p.t->stream_synchronize(p.stream) == DSHAL_OK,
        "a batched f16 GEMM (batch 2) with a plain and with a packed B runs");
  check(std::all_of(plain_out.begin(), plain_out.end(), [](float v) { return v > 0; }), "the GEMM wrote every output");
  check(std::memcmp(plain_out.data(), packed_out.data(), c_bytes) == 0, "the packed B gives the same bits as the plain B");
  packed_d.b.batch_stride = kN * kK;  // batch 1 would start inside group 0's padding, not at group 1
  check(p.t->gemm(p.stream, &packed_d) == DSHAL_OK && p.t->stream_synchronize(p.stream) == DSHAL_ERROR_INVALID_ARGUMENT,
        "a batch of a packed B that does not start at a group is refused at synchronize");
  p.t->buffer_free(A);
  p.t->buffer_free(plain_c);
  p.t->buffer_free(packed_c);
}

void check_declines(npu_sim_test::Plugin& p) {
  auto gemm_with = [&](dshal_dtype a, dshal_dtype b) {
    dshal_gemm_desc g{};
    g.struct_size = sizeof g;
    g.a.dtype = a;
    g.b.dtype = b;
    g.c.dtype = DSHAL_DTYPE_F32;
    return p.t->query_op(p.dev, DSHAL_OP_GEMM, &g);
  };
  check(gemm_with(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32) == DSHAL_ERROR_UNSUPPORTED, "query_op declines an f32 GEMM");
  check(gemm_with(DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16) == DSHAL_ERROR_UNSUPPORTED, "query_op declines f32 x bf16");
  check(gemm_with(DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16) == DSHAL_OK, "query_op takes bf16 x bf16");
  check(gemm_with(DSHAL_DTYPE_F16, DSHAL_DTYPE_F16) == DSHAL_OK, "query_op takes f16 x f16");
  dshal_prepack_desc d{};
  d.struct_size = sizeof d;
  d.w.dtype = DSHAL_DTYPE_FP8_E4M3;
  check(p.t->query_op(p.dev, DSHAL_OP_PREPACK_WEIGHT, &d) == DSHAL_ERROR_UNSUPPORTED,
        "query_op declines prepacking fp8 (hal then makes a plain copy)");
  dshal_device_properties props{};
  props.struct_size = sizeof props;
  check(p.t->device_get_properties(p.dev, &props) == DSHAL_OK &&
            props.gemm_dtypes == (DSHAL_DTYPE_BIT(DSHAL_DTYPE_F16) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16)) &&
            props.alignment == 32,
        "properties: gemm_dtypes f16 | bf16, alignment 32");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <libdshal_npu_sim.so>\n", argv[0]);
    return 2;
  }
  npu_sim_test::Plugin p(argv[1]);
  const Weights w = check_layout(p);
  if (w.packed) check_batched_gemm(p, w);
  check_declines(p);
  if (w.packed) p.t->buffer_free(w.packed);
  p.t->buffer_free(w.src);
  return npu_sim_test::verdict();
}
