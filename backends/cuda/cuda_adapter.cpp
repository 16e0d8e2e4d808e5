// The cuda adapter's table and its negotiate entry point, exported from libdshal_cuda.so under the
// plugin ABI's name: hal's cuda probe (backends/cuda_probe.cpp) loads it only when the runtime
// reports a device.
#include "cuda.hpp"

namespace dshal::cuda {
namespace {

dshal_status query_op(dshal_device, dshal_op op, const void* desc) {
  if (op == DSHAL_OP_GEMM) return query_gemm(*static_cast<const dshal_gemm_desc*>(desc));
  return DSHAL_OK;  // every other filled slot runs every descriptor hal lets through
}

dshal_adapter_table make_table() {
  dshal_adapter_table t{};
  t.struct_size = sizeof(t);
  t.abi_version = DSHAL_ABI_VERSION;
  t.name = "cuda";
  t.description = "NVIDIA GPUs: CUDA runtime, cuBLASLt GEMM, NCCL all_to_all";
  t.release = [] {};
  t.last_error = last_error;
  t.device_count = device_count;
  t.device_open = device_open;
  t.device_close = device_close;
  t.device_get_properties = device_get_properties;
  fill_memory_slots(&t);
  fill_stream_slots(&t);
  fill_gemm_slots(&t);
  fill_comm_slots(&t);
  fill_kernel_slots(&t);
  fill_rows_slots(&t);
  fill_moe_slots(&t);
  t.query_op = query_op;
  return t;
}

}  // namespace
}  // namespace dshal::cuda

extern "C" __attribute__((visibility("default"))) dshal_status dshal_adapter_negotiate(
    uint32_t min_abi, uint32_t max_abi, const dshal_host_services*, const dshal_adapter_table** out_table) {
  *out_table = nullptr;
  if (min_abi > DSHAL_ABI_VERSION || max_abi < DSHAL_ABI_VERSION) return DSHAL_ERROR_ABI_MISMATCH;
  static const dshal_adapter_table table = dshal::cuda::make_table();
  *out_table = &table;
  return DSHAL_OK;
}
