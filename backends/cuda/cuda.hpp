// backends/cuda internals: a device is a CUDA device with one cuBLASLt handle; buffers come from
// the stream-ordered allocator; each stream owns a pool of pinned staging chunks for copies from
// and to pageable host memory. Everything vendor-named goes through gpu_shim.hpp.
#pragma once

#include <dshal/adapter.h>

#include "adapter_support.hpp"
#include "gpu_shim.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dshal::cuda {

struct CudaAdapter;
using Errors = backend::AdapterErrors<CudaAdapter>;
inline const char* last_error() { return Errors::last_error(); }
inline dshal_status fail(dshal_status code, std::string msg) { return Errors::fail(code, std::move(msg)); }
inline dshal_status guarded(const std::function<dshal_status()>& f) { return Errors::guarded(f); }

// A runtime error as a status naming the call: out of memory, or a device failure.
dshal_status gpu_fail(gpuError_t e, const char* what);
dshal_status blas_fail(blasStatus_t e, const char* what);
dshal_status ccl_fail(cclResult_t e, const char* what);
#define DSHAL_GPU(call)                                                   \
  do {                                                                    \
    if (gpuError_t e_ = (call); e_ != gpuSuccess) return gpu_fail(e_, #call); \
  } while (0)
#define DSHAL_BLAS(call)                                                           \
  do {                                                                             \
    if (blasStatus_t e_ = (call); e_ != blasStatusSuccess) return blas_fail(e_, #call); \
  } while (0)
#define DSHAL_CCL(call)                                                     \
  do {                                                                      \
    if (cclResult_t e_ = (call); e_ != cclSuccess) return ccl_fail(e_, #call); \
  } while (0)

struct Device {
  int ordinal = 0;
  gpuDeviceProp props{};
  blasLtHandle_t blas = nullptr;
  void* blas_workspace = nullptr;  // cuBLASLt's scratch, allocated once per device
  size_t blas_workspace_bytes = 0;
};

struct Buffer {
  Device* device = nullptr;
  std::byte* ptr = nullptr;  // device memory
  uint64_t size = 0;
};

// Pinned host chunks for copies from and to pageable memory, reused: a chunk goes back to the pool
// from a host callback once the copy that used it has run.
class StagingPool {
 public:
  ~StagingPool();
  // A chunk of at least bytes, or nullptr with *error set.
  std::byte* take(uint64_t bytes, gpuError_t* error);
  void give_back(std::byte* chunk);

 private:
  std::mutex m_;
  std::vector<std::pair<std::byte*, uint64_t>> free_, all_;
};

struct Stream {
  Device* device = nullptr;
  gpuStream_t stream = nullptr;
  std::unique_ptr<StagingPool> staging = std::make_unique<StagingPool>();
  // backend::kStatusWords int32 words in device memory where kernels report bad device-resident
  // input (kernels/hd.hpp report_status); read and cleared by stream_synchronize.
  int32_t* status = nullptr;
};

struct Event {
  Device* device = nullptr;
  gpuEvent_t event = nullptr;
  bool recorded = false;
};

inline Device* as_device(dshal_device d) { return reinterpret_cast<Device*>(d); }
inline Buffer* as_buffer(dshal_buffer b) { return reinterpret_cast<Buffer*>(b); }
inline Stream* as_stream(dshal_stream s) { return reinterpret_cast<Stream*>(s); }
inline Event* as_event(dshal_event e) { return reinterpret_cast<Event*>(e); }
// The device address of a place in a buffer.
inline std::byte* at(dshal_buffer b, uint64_t offset) { return as_buffer(b)->ptr + offset; }
inline std::byte* at(const dshal_buffer_ref& r) { return at(r.buffer, r.offset); }

// Makes the stream's device current on the calling thread (the runtime's device is per thread).
dshal_status use(const Device* d);

// Slots, by file.
dshal_status device_count(uint32_t* count);                                    // cuda_device.cpp
dshal_status device_open(uint32_t index, dshal_device* out);
dshal_status device_close(dshal_device device);
dshal_status device_get_properties(dshal_device device, dshal_device_properties* props);
void fill_memory_slots(dshal_adapter_table* t);   // cuda_memory.cpp: buffers, copies, fill
void fill_stream_slots(dshal_adapter_table* t);   // cuda_stream.cpp: streams, events
void fill_gemm_slots(dshal_adapter_table* t);     // cuda_gemm.cpp: gemm (cuBLASLt)
dshal_status query_gemm(const dshal_gemm_desc& d);  // DSHAL_OK when cuBLASLt takes it
void fill_comm_slots(dshal_adapter_table* t);     // cuda_comm.cpp: NCCL all_to_all
void fill_kernel_slots(dshal_adapter_table* t);   // cuda_ops.cpp: norm, silu, GEMM kernels, attention
void fill_rows_slots(dshal_adapter_table* t);     // cuda_rows_ops.cpp: rope, softmax, elementwise, embedding
void fill_moe_slots(dshal_adapter_table* t);      // cuda_moe_ops.cpp: moe_route, moe_permute, moe_unpermute

}  // namespace dshal::cuda
