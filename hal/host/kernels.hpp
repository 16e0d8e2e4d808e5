// Host kernels: the reference implementation of every dshal op on host memory. The cpu backend runs
// them natively; hal's fallback runs them on staged copies when an adapter leaves an op slot empty.
#pragma once

#include <dshal/adapter.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace dshal::host {

// What a dshal_buffer handle points to wherever host kernels run: the cpu backend's buffers and the
// fallback's staging copies are both HostBuffers.
struct HostBuffer {
  void* data = nullptr;
  uint64_t size = 0;
  bool owned = false;  // false for imported host memory and staging views
};

inline HostBuffer* as_host(dshal_buffer b) { return reinterpret_cast<HostBuffer*>(b); }
inline dshal_buffer as_handle(HostBuffer* b) { return reinterpret_cast<dshal_buffer>(b); }

template <typename T = std::byte>
inline T* host_ptr(dshal_buffer b, uint64_t offset_bytes) {
  return reinterpret_cast<T*>(static_cast<std::byte*>(as_host(b)->data) + offset_bytes);
}

// Every kernel: arguments are already validated by hal; returns DSHAL_OK or an error status with a
// message in *error (a data-dependent failure, such as an embedding id out of range).
dshal_status gemm(const dshal_gemm_desc& d, std::string* error);
dshal_status gemm_quant(const dshal_gemm_quant_desc& d, std::string* error);
dshal_status grouped_gemm(const dshal_grouped_gemm_desc& d, std::string* error);
dshal_status rms_norm(const dshal_rms_norm_desc& d, std::string* error);
dshal_status rope(const dshal_rope_desc& d, std::string* error);
dshal_status softmax(const dshal_softmax_desc& d, std::string* error);
dshal_status silu_mul(const dshal_silu_mul_desc& d, std::string* error);
dshal_status moe_route(const dshal_moe_route_desc& d, std::string* error);
dshal_status moe_permute(const dshal_moe_permute_desc& d, std::string* error);
dshal_status moe_unpermute(const dshal_moe_unpermute_desc& d, std::string* error);
dshal_status embedding(const dshal_embedding_desc& d, std::string* error);
dshal_status elementwise(const dshal_elementwise_desc& d, std::string* error);
dshal_status attention(const dshal_attention_desc& d, std::string* error);

}  // namespace dshal::host
