// Validation of every descriptor, in one place: shape and dtype rules per op, then the byte range
// each buffer operand covers. The same operand list translates hal handles into adapter handles and
// tells the host fallback what to stage.
#pragma once

#include <dshal/adapter.h>
#include <dshal/dshal.hpp>

#include <string>
#include <vector>

#include "objects.hpp"

namespace dshal::detail {

struct Operand {
  const char* name;       // the descriptor field, for messages: "a", "w.scales", ...
  dshal_buffer* buffer;   // the field in the descriptor (a copy the caller owns)
  uint64_t* offset;       // its byte offset field
  uint64_t bytes;         // bytes covered from *offset
  dshal_dtype dtype;      // element type (INVALID: raw bytes)
  bool write;
  bool optional;          // a NULL buffer means "absent" (a router bias)
};

struct OperandList {
  const char* op = "";
  std::vector<Operand> items;
};

// Each checks the descriptor's shape, dtype and enum fields and lists its operands.
Status describe(dshal_gemm_desc& d, OperandList* out);
Status describe(dshal_gemm_quant_desc& d, OperandList* out);
Status describe(dshal_grouped_gemm_desc& d, OperandList* out);
Status describe(dshal_rms_norm_desc& d, OperandList* out);
Status describe(dshal_rope_desc& d, OperandList* out);
Status describe(dshal_softmax_desc& d, OperandList* out);
Status describe(dshal_silu_mul_desc& d, OperandList* out);
Status describe(dshal_moe_route_desc& d, OperandList* out);
Status describe(dshal_moe_permute_desc& d, OperandList* out);
Status describe(dshal_moe_unpermute_desc& d, OperandList* out);
Status describe(dshal_embedding_desc& d, OperandList* out);
Status describe(dshal_elementwise_desc& d, OperandList* out);
Status describe(dshal_attention_desc& d, OperandList* out);
Status describe(dshal_prepack_desc& d, OperandList* out);

// Checks every operand against the device the work runs on: live handle, same device, range inside
// the buffer, element alignment, dtype supported. Then rewrites the handles to the adapter's.
Status check_and_translate(const DeviceObj& device, OperandList& ops);

// The field is large enough to be read as this descriptor type.
template <typename D>
Status check_struct_size(const D& d, const char* op) {
  if (d.struct_size < sizeof(D))
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  std::string(op) + ": struct_size = " + std::to_string(d.struct_size) + " is below " +
                      std::to_string(sizeof(D)) + " (use dshal::desc<T>())");
  return {};
}

}  // namespace dshal::detail
