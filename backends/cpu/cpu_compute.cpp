// cpu compute slots: GEMM and every optional op enqueue the host kernels (hal/host) on the stream.
#include <cstdlib>
#include <set>
#include <sstream>

#include <dshal/dshal.hpp>

#include "cpu.hpp"
#include "host/kernels.hpp"

namespace dshal::cpu {
namespace {

// Enqueues kernel(desc) with the descriptor captured by value.
template <typename D, dshal_status (*Kernel)(const D&, std::string*)>
dshal_status enqueue_kernel(dshal_stream s, const D* desc) {
  return guarded([&] {
    as_stream(s)->enqueue([d = *desc](std::string* error) { return Kernel(d, error); });
    return DSHAL_OK;
  });
}

// The cpu's native weight layout is the plain row-major one (its GEMM packs panels as it goes), so
// prepacking is a copy of the weight range into a buffer of its own.
dshal_status prepack_weight(dshal_stream s, const dshal_prepack_desc* d, dshal_buffer* out) {
  *out = nullptr;
  const uint64_t per_group = d->w.dtype == DSHAL_DTYPE_INT4 ? d->n * d->k / 2
                             : d->w.dtype == DSHAL_DTYPE_FP8_E4M3
                                 ? d->n * d->k
                                 : ((d->n - 1) * d->w.ld + d->k) * (d->w.dtype == DSHAL_DTYPE_F32 ? 4 : 2);
  const uint64_t bytes = (d->groups - 1) * d->w_group_stride_bytes + per_group;
  dshal_buffer packed = nullptr;
  if (dshal_status st = buffer_alloc(nullptr, bytes, &packed); st != DSHAL_OK) return st;
  *out = packed;
  return copy_d2d(s, d->w.buffer, d->w.offset, packed, 0, bytes);
}

// DSHAL_CPU_FALLBACK=all or a comma list of op names ("rms_norm,attention") makes the cpu decline
// those ops, so hal's host fallback runs them: how the fallback path itself is tested on any machine.
const std::set<std::string>& declined_ops() {
  static const std::set<std::string> ops = [] {
    std::set<std::string> out;
    const char* env = std::getenv("DSHAL_CPU_FALLBACK");
    std::stringstream ss(env ? env : "");
    for (std::string name; std::getline(ss, name, ',');)
      if (!name.empty()) out.insert(name);
    return out;
  }();
  return ops;
}

dshal_status query_op(dshal_device, dshal_op op, const void*) {
  const std::set<std::string>& declined = declined_ops();
  return declined.count("all") || declined.count(op_name(op)) ? DSHAL_ERROR_UNSUPPORTED : DSHAL_OK;
}

}  // namespace

void fill_compute_slots(dshal_adapter_table* t) {
  t->gemm = enqueue_kernel<dshal_gemm_desc, host::gemm>;
  t->query_op = query_op;  // every op below runs natively unless DSHAL_CPU_FALLBACK declines it
  t->grouped_gemm = enqueue_kernel<dshal_grouped_gemm_desc, host::grouped_gemm>;
  t->gemm_quant = enqueue_kernel<dshal_gemm_quant_desc, host::gemm_quant>;
  t->rms_norm = enqueue_kernel<dshal_rms_norm_desc, host::rms_norm>;
  t->rope = enqueue_kernel<dshal_rope_desc, host::rope>;
  t->softmax = enqueue_kernel<dshal_softmax_desc, host::softmax>;
  t->silu_mul = enqueue_kernel<dshal_silu_mul_desc, host::silu_mul>;
  t->moe_route = enqueue_kernel<dshal_moe_route_desc, host::moe_route>;
  t->moe_permute = enqueue_kernel<dshal_moe_permute_desc, host::moe_permute>;
  t->moe_unpermute = enqueue_kernel<dshal_moe_unpermute_desc, host::moe_unpermute>;
  t->embedding = enqueue_kernel<dshal_embedding_desc, host::embedding>;
  t->elementwise = enqueue_kernel<dshal_elementwise_desc, host::elementwise>;
  t->attention = enqueue_kernel<dshal_attention_desc, host::attention>;
  t->prepack_weight = prepack_weight;
}

}  // namespace dshal::cpu
