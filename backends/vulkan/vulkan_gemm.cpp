// vulkan gemm: for the Linear layout (f32 C = A B^T, vec4-aligned along K)
// shaders/gemm_f32_nt_texel.comp, A and B read as texel buffers, or shaders/gemm_f32_nt.comp when
// they cannot be texel views or operands must be addresses; shaders/gemm.comp for C = alpha *
// op(A) * op(B) + beta * C over every other f32 / f16 / bf16 mix, and shaders/gemm_scale.comp for
// K == 0 or alpha == 0 (A and B not read). Each operand binds only the range it spans, from its
// offset rounded down to minStorageBufferOffsetAlignment.
#include <algorithm>

#include "vulkan_ops.hpp"

namespace dshal::vulkan {
namespace {

struct GemmPush {
  uint32_t addr[6];  // operand addresses, filled by dispatch()
  uint32_t m, n, k, batch_base;
  uint32_t a_off, a_dt, lda, a_bs;
  uint32_t b_off, b_dt, ldb, b_bs;
  uint32_t c_off, c_dt, ldc, c_bs;
  uint32_t trans_a, trans_b;
  float alpha, beta;
};
static_assert(sizeof(GemmPush) == 104, "matches shaders/gemm.comp");

struct ScalePush {
  uint32_t addr[2];
  uint32_t m, n, batch_base, c_off, c_dt, ldc, c_bs;
  float beta;
};
static_assert(sizeof(ScalePush) == 40, "matches shaders/gemm_scale.comp");

struct NtPush {
  uint32_t addr[6];
  uint32_t m, n, k4, batch_base;
  uint32_t a_off, lda, a_bs, b_off;
  uint32_t ldb, b_bs, c_off, c_dt;
  uint32_t ldc, c_bs;
  float alpha, beta;
};
static_assert(sizeof(NtPush) == 88, "matches shaders/gemm_f32_nt.comp");

// gemm_f32_nt's tile: W invocations x C columns each, R rows per workgroup. Measured on lavapipe
// (bench/gemm_devices) with texel-buffer A and B: W 32, R 32, C 4 beat R 8, 16, 48, 64, C 2, 8
// and W 16, 64 (with storage-buffer loads R 16 had been best).
constexpr uint32_t kNtW = 32, kNtC = 4, kNtR = 32;


// The operand holding a stored rows x cols matrix (batch of them).
Bound bind_matrix(Stream* s, const dshal_matrix& x, uint64_t rows, uint64_t cols, uint64_t batch) {
  const uint64_t last = (batch - 1) * x.batch_stride + (rows - 1) * x.ld + (cols - 1);
  return bind(s, x.buffer, x.offset, (last + 1) * elem_bytes(x.dtype));
}

// Dispatches in slices of batches the device's group count limit allows; push.batch_base moves.
// A workgroup covers tile_m x tile_n outputs of C.
template <class Push>
dshal_status dispatch_batches(Stream* s, const char* shader, const std::vector<Binding>& operands, Push push, uint64_t m,
                              uint64_t n, uint64_t batch, uint64_t tile_m, uint64_t tile_n,
                              const std::vector<uint32_t>& spec = {}, uint32_t texel = 0) {
  const uint32_t max_z = s->device->info->props.limits.maxComputeWorkGroupCount[2];
  auto groups = [](uint64_t x, uint64_t tile) { return uint32_t(std::min<uint64_t>((x + tile - 1) / tile, UINT32_MAX)); };
  for (uint64_t b0 = 0; b0 < batch; b0 += max_z) {
    push.batch_base = uint32_t(b0);
    const uint32_t gz = uint32_t(std::min<uint64_t>(max_z, batch - b0));
    const Dispatch d{shader, operands, &push, sizeof(push), {groups(n, tile_n), groups(m, tile_m), gz}, spec, texel};
    if (dshal_status st = dispatch(s, d); st != DSHAL_OK) return st;
  }
  return DSHAL_OK;
}

// gemm_f32_nt reads A and B as vec4 along K: both f32, contiguous along K (C = A B^T), K, leading
// dimensions and batch strides (when batched) multiples of 4 and both offsets within their bindings
// 16-byte aligned.
bool linear_layout(const dshal_gemm_desc* d, const Bound& a, const Bound& b) {
  auto vec4_rows = [d](const dshal_matrix& x, const Bound& bound) {
    return x.dtype == DSHAL_DTYPE_F32 && x.ld % 4 == 0 && (d->batch == 1 || x.batch_stride % 4 == 0) &&
           bound.offset % 16 == 0;
  };
  return !d->trans_a && d->trans_b && d->k % 4 == 0 && vec4_rows(d->a, a) && vec4_rows(d->b, b);
}

}  // namespace

dshal_status scale_c(Stream* s, const Bound& c, const dshal_matrix& cm, uint64_t m, uint64_t n, uint64_t batch,
                     float beta) {
  const ScalePush push{{}, uint32_t(m), uint32_t(n), 0, c.offset, uint32_t(cm.dtype), uint32_t(cm.ld),
                       uint32_t(cm.batch_stride), beta};
  return dispatch_batches(s, "gemm_scale", {c.binding}, push, m, n, batch, 16, 16);
}

dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (d->m == 0 || d->n == 0 || d->batch == 0) return DSHAL_OK;
    const Bound c = bind_matrix(s, d->c, d->m, d->n, d->batch);
    std::lock_guard lock(s->m);
    // With k == 0 hal leaves A and B untranslated; alpha == 0 must not read them either.
    if (d->k == 0 || d->alpha == 0.0f) return scale_c(s, c, d->c, d->m, d->n, d->batch, d->beta);
    const Bound a = d->trans_a ? bind_matrix(s, d->a, d->k, d->m, d->batch) : bind_matrix(s, d->a, d->m, d->k, d->batch);
    const Bound b = d->trans_b ? bind_matrix(s, d->b, d->n, d->k, d->batch) : bind_matrix(s, d->b, d->k, d->n, d->batch);
    if (d->k > UINT32_MAX) return fail(DSHAL_ERROR_UNSUPPORTED, "gemm: k = " + std::to_string(d->k) + " exceeds 2^32 - 1");
    if (linear_layout(d, a, b)) {
      const NtPush push{{}, uint32_t(d->m), uint32_t(d->n), uint32_t(d->k / 4), 0,
                        a.offset, uint32_t(d->a.ld), uint32_t(d->a.batch_stride), b.offset,
                        uint32_t(d->b.ld), uint32_t(d->b.batch_stride), c.offset, uint32_t(d->c.dtype),
                        uint32_t(d->c.ld), uint32_t(d->c.batch_stride), d->alpha, d->beta};
      const uint32_t rows = uint32_t(std::min<uint64_t>(d->m, kNtR));  // small M: B streams once
      // Texel views for A and B where they can be (see gemm_f32_nt_texel.comp); C stays a storage
      // buffer, so it must not need a device address either.
      const Device* dev = s->device;
      const bool texel = !dev->force_device_address && texel_operand_fits(dev, a.binding) &&
                         texel_operand_fits(dev, b.binding) && c.binding.range <= dev->info->props.limits.maxStorageBufferRange;
      return dispatch_batches(s, texel ? "gemm_f32_nt_texel" : "gemm_f32_nt", {a.binding, b.binding, c.binding}, push, d->m,
                              d->n, d->batch, rows, kNtW * kNtC, {kNtW, rows, kNtC}, texel ? 3u : 0u);
    }
    const GemmPush push{{},
                        uint32_t(d->m), uint32_t(d->n), uint32_t(d->k), 0,
                        a.offset, uint32_t(d->a.dtype), uint32_t(d->a.ld), uint32_t(d->a.batch_stride),
                        b.offset, uint32_t(d->b.dtype), uint32_t(d->b.ld), uint32_t(d->b.batch_stride),
                        c.offset, uint32_t(d->c.dtype), uint32_t(d->c.ld), uint32_t(d->c.batch_stride),
                        d->trans_a, d->trans_b, d->alpha, d->beta};
    return dispatch_batches(s, "gemm", {a.binding, b.binding, c.binding}, push, d->m, d->n, d->batch, 64, 64);
  });
}

}  // namespace dshal::vulkan
