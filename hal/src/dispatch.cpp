// Stream compute calls: validate once, then the adapter's slot, or the host fallback when the slot
// is empty or query_op declines the descriptor; both are counted per op.
#include <dshal/dshal.hpp>

#include <fmt/format.h>

#include "fallback.hpp"
#include "host/dtype.hpp"
#include "host/kernels.hpp"
#include "objects.hpp"
#include "operands.hpp"

namespace dshal {
using namespace detail;

namespace {

template <typename D>
using Slot = dshal_status (*dshal_adapter_table::*)(dshal_stream, const D*);

bool has_slot(const dshal_adapter_table* t, size_t slot_offset) {
  return t->struct_size >= slot_offset + sizeof(void*);
}

template <typename D>
Status run_optional(const StreamObj* s, dshal_op op, const D& in, Slot<D> slot, size_t slot_offset,
                    HostKernel<D> kernel) {
  if (!s) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "stream: an empty Stream handle");
  D d = in;
  OperandList ops;
  DSHAL_RETURN_IF_ERROR(describe(d, &ops));
  DSHAL_RETURN_IF_ERROR(check_and_translate(*s->device, ops));
  const dshal_adapter_table* t = s->device->table;
  const bool native = has_slot(t, slot_offset) && t->*slot &&
                      (!t->query_op || t->query_op(s->device->handle, op, &d) == DSHAL_OK);
  if (native) {
    s->device->natives[op].fetch_add(1, std::memory_order_relaxed);
    return adapter_status(t, (t->*slot)(s->handle, &d), ops.op);
  }
  s->device->fallbacks[op].fetch_add(1, std::memory_order_relaxed);
  return run_on_host(*s, ops, d, kernel);
}

#define DSHAL_OPTIONAL(method, op, slot, desc_type)                                                 \
  Status Stream::method(const desc_type& d) const {                                                 \
    return run_optional<desc_type>(get(), op, d, &dshal_adapter_table::slot,                         \
                                   offsetof(dshal_adapter_table, slot), &host::slot);                \
  }

}  // namespace

// GEMM is mandatory, but an input type outside gemm_dtypes, or a descriptor query_op declines, runs
// on the host like an optional op's fallback (a matrix unit without f32 inputs still runs f32 models).
Status Stream::gemm(const dshal_gemm_desc& in) const {
  const StreamObj* s = get();
  if (!s) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "gemm: an empty Stream handle");
  dshal_gemm_desc d = in;
  OperandList ops;
  DSHAL_RETURN_IF_ERROR(describe(d, &ops));
  DSHAL_RETURN_IF_ERROR(check_and_translate(*s->device, ops));
  if (ops.items.empty()) return {};  // m, n or batch == 0
  const dshal_adapter_table* t = s->device->table;
  const uint32_t native_types = s->device->props.gemm_dtypes;
  // DSHAL_OP_GEMM came with the table revision that added stream_device_time: a smaller table's
  // query_op was written before GEMM could be declined and is not asked.
  const bool asks_query_op = t->query_op && has_slot(t, offsetof(dshal_adapter_table, stream_device_time));
  const bool native = (native_types & DSHAL_DTYPE_BIT(d.a.dtype)) && (native_types & DSHAL_DTYPE_BIT(d.b.dtype)) &&
                      (!asks_query_op || t->query_op(s->device->handle, DSHAL_OP_GEMM, &d) == DSHAL_OK);
  if (native) {
    s->device->natives[DSHAL_OP_GEMM].fetch_add(1, std::memory_order_relaxed);
    return adapter_status(t, t->gemm(s->handle, &d), "gemm");
  }
  s->device->fallbacks[DSHAL_OP_GEMM].fetch_add(1, std::memory_order_relaxed);
  return run_on_host(*s, ops, d, &host::gemm);
}

DSHAL_OPTIONAL(grouped_gemm, DSHAL_OP_GROUPED_GEMM, grouped_gemm, dshal_grouped_gemm_desc)
DSHAL_OPTIONAL(gemm_quant, DSHAL_OP_GEMM_QUANT, gemm_quant, dshal_gemm_quant_desc)
DSHAL_OPTIONAL(rms_norm, DSHAL_OP_RMS_NORM, rms_norm, dshal_rms_norm_desc)
DSHAL_OPTIONAL(rope, DSHAL_OP_ROPE, rope, dshal_rope_desc)
DSHAL_OPTIONAL(softmax, DSHAL_OP_SOFTMAX, softmax, dshal_softmax_desc)
DSHAL_OPTIONAL(silu_mul, DSHAL_OP_SILU_MUL, silu_mul, dshal_silu_mul_desc)
DSHAL_OPTIONAL(moe_route, DSHAL_OP_MOE_ROUTE, moe_route, dshal_moe_route_desc)
DSHAL_OPTIONAL(moe_permute, DSHAL_OP_MOE_PERMUTE, moe_permute, dshal_moe_permute_desc)
DSHAL_OPTIONAL(moe_unpermute, DSHAL_OP_MOE_UNPERMUTE, moe_unpermute, dshal_moe_unpermute_desc)
DSHAL_OPTIONAL(embedding, DSHAL_OP_EMBEDDING, embedding, dshal_embedding_desc)
DSHAL_OPTIONAL(elementwise, DSHAL_OP_ELEMENTWISE, elementwise, dshal_elementwise_desc)
DSHAL_OPTIONAL(attention, DSHAL_OP_ATTENTION, attention, dshal_attention_desc)

}  // namespace dshal
