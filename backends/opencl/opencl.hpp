// backends/opencl internals: every OpenCL device of every platform the ICD loader finds, one
// in-order command queue per stream, cl_mem buffers, and kernels built from the embedded .cl files.
#pragma once

#include <CL/cl.h>
#include <dshal/adapter.h>

#include "adapter_support.hpp"
#include "device_status.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dshal::opencl {

// ---- errors (opencl_adapter.cpp) ----
// The table's last_error (one message per thread) and the guard at the C boundary: adapter_support.hpp.
struct OpenCLAdapter;
using Errors = backend::AdapterErrors<OpenCLAdapter>;
inline const char* last_error() { return Errors::last_error(); }
inline dshal_status fail(dshal_status code, std::string msg) { return Errors::fail(code, std::move(msg)); }
inline dshal_status guarded(const std::function<dshal_status()>& f) { return Errors::guarded(f); }
const char* cl_error_name(cl_int err);
// Maps an OpenCL error of `what` (the API call and its subject) to a dshal status and message.
dshal_status cl_fail(cl_int err, const std::string& what);
void log(int level, const std::string& message);

#define DSHAL_CL_RETURN_IF_ERROR(call, what)          \
  do {                                                \
    const cl_int dshal_cl_err_ = (call);              \
    if (dshal_cl_err_ != CL_SUCCESS) return cl_fail(dshal_cl_err_, (what)); \
  } while (0)

// ---- platforms and devices (opencl_platform.cpp, opencl_device.cpp) ----
// One cl_context per platform (or per device with DSHAL_OPENCL_CONTEXTS=per-device): buffers and
// events of one context are shared by its devices; between contexts data goes through the host.
struct Context {
  cl_context context = nullptr;
  ~Context();
};

struct DeviceInfo {
  cl_platform_id platform = nullptr;
  cl_device_id id = nullptr;
  std::shared_ptr<Context> context;
  std::string name, vendor, driver_version, platform_name, extensions;
  cl_device_type type = 0;
  uint64_t global_mem = 0, max_alloc = 0;
  uint32_t compute_units = 0, base_align_bits = 0;
  size_t max_work_group = 0;
  uint64_t local_mem = 0;
  bool unified_memory = false;
  bool has_extension(const char* ext) const;
};

// Every device the ICD loader offers, in platform then device order; the reason when there is none.
struct Inventory {
  std::vector<DeviceInfo> devices;
  std::string unavailable;
};
const Inventory& inventory();

class ProgramCache;

struct Device {
  const DeviceInfo* info = nullptr;
  cl_context context() const { return info->context->context; }
  // A queue for work that belongs to no stream (cross-context staging, status reads).
  cl_command_queue aux_queue = nullptr;
  std::unique_ptr<ProgramCache> programs;
  ~Device();
};

// ---- buffers (opencl_buffer.cpp) ----
struct Buffer {
  Device* device = nullptr;
  cl_mem mem = nullptr;
  uint64_t size = 0;
};

// ---- streams and events (opencl_stream.cpp) ----
// Kernels that find bad device-resident input record the first such error in the stream's status
// words (backends/device_status.hpp); synchronize reports and clears it.
using backend::kStatusWords;
using backend::status_from_words;

struct Stream {
  Device* device = nullptr;
  cl_command_queue queue = nullptr;
  cl_mem status = nullptr;  // int[kStatusWords]: code, then details
};

struct Event {
  Device* device = nullptr;
  std::mutex m;
  cl_event marker = nullptr;  // the last recorded point; NULL before the first record
  cl_mem status = nullptr;    // the recording stream's status words at that point
  Device* recorded_on = nullptr;
};

inline Device* as_device(dshal_device d) { return reinterpret_cast<Device*>(d); }
inline Buffer* as_buffer(dshal_buffer b) { return reinterpret_cast<Buffer*>(b); }
inline Stream* as_stream(dshal_stream s) { return reinterpret_cast<Stream*>(s); }
inline Event* as_event(dshal_event e) { return reinterpret_cast<Event*>(e); }

// A marker on queue covering all work enqueued so far (retained: the caller releases it).
cl_event enqueue_marker(cl_command_queue queue);
// An event in `context` that completes when `event` does (a user event set from a callback when
// they are in different contexts; `event` itself, retained, when they share one).
cl_event bridge_event(cl_event event, cl_context context);
// Makes queue wait for event (bridged into the queue's context when needed).
dshal_status enqueue_wait(cl_command_queue queue, cl_context context, cl_event event);

// ---- programs and kernels (opencl_program.cpp) ----
// Builds each embedded .cl file once per device, through an on-disk cache of program binaries
// keyed by device, driver version, source hash and build options.
class ProgramCache {
 public:
  explicit ProgramCache(const Device* device);
  ~ProgramCache();
  // The kernel `name` of program `file` (e.g. "gemm.cl"); its mutex serializes argument setting
  // and enqueueing, since a cl_kernel's arguments are shared state.
  dshal_status kernel(const std::string& file, const std::string& name, cl_kernel* out, std::mutex** lock);
  uint64_t compiled() const { return compiled_; }
  uint64_t loaded_from_cache() const { return loaded_; }

 private:
  dshal_status build(const std::string& file, cl_program* out);
  const Device* device_;
  std::mutex m_;
  std::map<std::string, cl_program> programs_;
  struct KernelSlot {
    cl_kernel kernel = nullptr;
    std::unique_ptr<std::mutex> lock;
  };
  std::map<std::string, KernelSlot> kernels_;
  uint64_t compiled_ = 0, loaded_ = 0;
};

// The embedded kernel sources (generated at build time from kernels/*.cl).
struct EmbeddedSource {
  const char* file;
  const char* text;
};
const EmbeddedSource* find_embedded_source(const std::string& file);

// ---- slots, by file ----
dshal_status device_count(uint32_t* count);
dshal_status device_open(uint32_t index, dshal_device* out);
dshal_status device_close(dshal_device device);
dshal_status device_get_properties(dshal_device device, dshal_device_properties* props);
dshal_status buffer_alloc(dshal_device device, uint64_t size, dshal_buffer* out);
dshal_status buffer_free(dshal_buffer buffer);
dshal_status import_host_memory(dshal_device device, void* ptr, uint64_t bytes, dshal_buffer* out);
dshal_status copy_h2d(dshal_stream s, const void* src, dshal_buffer dst, uint64_t off, uint64_t bytes);
dshal_status copy_d2h(dshal_stream s, dshal_buffer src, uint64_t off, void* dst, uint64_t bytes);
dshal_status copy_d2d(dshal_stream s, dshal_buffer src, uint64_t src_off, dshal_buffer dst, uint64_t dst_off,
                      uint64_t bytes);
dshal_status fill(dshal_stream s, dshal_buffer dst, uint64_t off, uint64_t bytes, const void* pattern,
                  uint32_t pattern_bytes);
dshal_status stream_create(dshal_device device, dshal_stream* out);
dshal_status stream_destroy(dshal_stream s);
dshal_status stream_synchronize(dshal_stream s);
dshal_status event_create(dshal_device device, dshal_event* out);
dshal_status event_destroy(dshal_event e);
dshal_status event_record(dshal_event e, dshal_stream s);
dshal_status stream_wait_event(dshal_stream s, dshal_event e);
dshal_status event_query(dshal_event e);
dshal_status event_synchronize(dshal_event e);
dshal_status comm_create(const dshal_device* devices, uint32_t count, dshal_comm* out);
dshal_status comm_destroy(dshal_comm comm);
dshal_status all_to_all(dshal_comm comm, const dshal_all_to_all_desc* desc);
// Copies between buffers of different contexts through host memory, in s's order.
dshal_status copy_across_contexts(Stream* s, Buffer* src, uint64_t src_off, Buffer* dst, uint64_t dst_off,
                                  uint64_t bytes);
void fill_compute_slots(dshal_adapter_table* t);  // every compute slot (opencl_compute.cpp)
void fill_gemm_slots(dshal_adapter_table* t);     // gemm, gemm_quant, grouped_gemm, prepack_weight
void fill_ops_slots(dshal_adapter_table* t);      // the other optional ops but attention
void fill_attention_slots(dshal_adapter_table* t);

}  // namespace dshal::opencl
