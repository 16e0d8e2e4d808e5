// dshal C++ API: what model/ and tools/ use to reach a device. Move-only RAII handles over hal's
// validated dispatch; descriptors are the C ABI's typed structs (adapter.h), filled with the
// handles below (Buffer::handle()).
//
// Every call returns a Status. Calls on a Stream are asynchronous (they enqueue and return) unless
// they say otherwise; host memory passed to an async copy must stay valid until the stream is
// synchronized. Every argument is checked before it reaches a device: a bad one gives
// DSHAL_ERROR_INVALID_ARGUMENT with a message naming the argument, its value and the limit.
// Handles are thread-compatible: one object may be used from several threads only through const
// methods; distinct objects are independent.
#pragma once

#include <dshal/adapter.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dshal {

// ---- status ---------------------------------------------------------------------------------------

const char* status_name(dshal_status code);  // "INVALID_ARGUMENT", ...

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(dshal_status code, std::string message) : code_(code), message_(std::move(message)) {}
  bool ok() const { return code_ == DSHAL_OK; }
  dshal_status code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;  // "INVALID_ARGUMENT: gemm: lda = 3 is below k = 4"

 private:
  dshal_status code_ = DSHAL_OK;
  std::string message_;
};

#define DSHAL_RETURN_IF_ERROR(expr)           \
  do {                                        \
    ::dshal::Status dshal_status_ = (expr);   \
    if (!dshal_status_.ok()) return dshal_status_; \
  } while (0)

// ---- handles --------------------------------------------------------------------------------------

namespace detail {
struct DeviceObj;
struct BufferObj;
struct StreamObj;
struct EventObj;
struct CommObj;
void release(DeviceObj*);
void release(BufferObj*);
void release(StreamObj*);
void release(EventObj*);
void release(CommObj*);

template <typename T>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T* p) : p_(p) {}
  Handle(Handle&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset() {
    if (p_) release(std::exchange(p_, nullptr));
  }
  explicit operator bool() const { return p_ != nullptr; }
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
};
}  // namespace detail

class Buffer;
class Stream;
class Event;

// What hal knows of a backend (built-in adapter or plugin).
struct BackendInfo {
  std::string name;         // id prefix: "cpu", "opencl", ...
  std::string description;
  uint32_t device_count = 0;
  std::string unavailable;  // why there is no device (empty when there are devices)
};

struct DeviceInfo {
  std::string id;  // "cpu:0"
  std::string backend;
  uint32_t index = 0;
  dshal_device_properties properties{};
};

Status list_backends(std::vector<BackendInfo>* out);
Status list_devices(std::vector<DeviceInfo>* out);

// Where an adapter comes from, for reports: built into dshal, or a plugin found through a manifest.
struct AdapterInfo {
  std::string name;  // "cpu", "npu-sim", ...
  bool builtin = true;
  std::string manifest;      // the plugin's .yaml (empty for built-ins)
  std::string library;       // the plugin's shared library, as loaded (empty for built-ins)
  std::string vendor;        // the manifest's vendor ("dshal project" for built-ins)
  std::string description;   // the manifest's, else the adapter table's
  std::string expectations;  // the manifest's `expectations:` file, resolved against the manifest's
                             // folder; empty when it names none
};
// The adapter of a backend name ("cpu", or the prefix of a device id). NOT_FOUND for an unknown
// name. Does not open a device.
Status adapter_info(std::string_view name, AdapterInfo* out);

// Device ids: "cpu", "cpu:1", "opencl:0", "<adapter>:N", "auto", and comma lists of these.
// "name" alone means "name:0". "auto" picks the first available of cuda, vulkan, opencl, any
// plugin (alphabetically), cpu. Resolves each entry to a concrete "name:N"; an unknown or absent
// device gives DSHAL_ERROR_NOT_FOUND with a message listing the available ids and, for a backend
// without devices, why.
Status resolve_device_ids(std::string_view spec, std::vector<std::string>* ids);
// The device list from DSHAL_DEVICE, or fallback when unset or empty.
std::string device_spec_from_env(std::string_view fallback);

class Device : public detail::Handle<detail::DeviceObj> {
 public:
  using Handle::Handle;
  const std::string& id() const;
  const std::string& backend() const;
  const dshal_device_properties& properties() const;
  uint32_t abi_version() const;

  // Blocking. size 0 gives a valid empty buffer.
  Status alloc(uint64_t bytes, Buffer* out) const;
  // Wraps host memory in place (devices with DSHAL_DEVICE_HOST_SHARED_MEMORY and an adapter that
  // offers it); the memory must outlive the buffer.
  Status import_host_memory(void* ptr, uint64_t bytes, Buffer* out) const;
  Status create_stream(Stream* out) const;
  Status create_event(Event* out) const;
  // How many calls of each dshal_op (the optional ops and gemm) ran through the host fallback, and
  // how many the adapter ran, since the device was opened.
  std::array<uint64_t, DSHAL_OP_COUNT> fallback_counts() const;
  std::array<uint64_t, DSHAL_OP_COUNT> native_counts() const;
};

// Opens one concrete or "auto" id ("cpu:0"). For comma lists use resolve_device_ids first.
Status open_device(std::string_view id, Device* out);
const char* op_name(dshal_op op);  // "grouped_gemm", ...

class Buffer : public detail::Handle<detail::BufferObj> {
 public:
  using Handle::Handle;
  uint64_t size() const;
  // The handle to put into descriptors. Valid while this Buffer lives.
  dshal_buffer handle() const;
};

class Stream : public detail::Handle<detail::StreamObj> {
 public:
  using Handle::Handle;
  Status copy_h2d(const void* src, const Buffer& dst, uint64_t dst_offset, uint64_t bytes) const;
  Status copy_d2h(const Buffer& src, uint64_t src_offset, void* dst, uint64_t bytes) const;
  Status copy_d2d(const Buffer& src, uint64_t src_offset, const Buffer& dst, uint64_t dst_offset,
                  uint64_t bytes) const;
  // pattern_bytes is 1, 2 or 4; bytes a multiple of it.
  Status fill(const Buffer& dst, uint64_t offset, uint64_t bytes, const void* pattern,
              uint32_t pattern_bytes) const;

  Status gemm(const dshal_gemm_desc& d) const;
  // Optional ops: native when the adapter offers them, else the host fallback (blocking).
  Status grouped_gemm(const dshal_grouped_gemm_desc& d) const;
  Status gemm_quant(const dshal_gemm_quant_desc& d) const;
  Status rms_norm(const dshal_rms_norm_desc& d) const;
  Status rope(const dshal_rope_desc& d) const;
  Status softmax(const dshal_softmax_desc& d) const;
  Status silu_mul(const dshal_silu_mul_desc& d) const;
  Status moe_route(const dshal_moe_route_desc& d) const;
  Status moe_permute(const dshal_moe_permute_desc& d) const;
  Status moe_unpermute(const dshal_moe_unpermute_desc& d) const;
  Status embedding(const dshal_embedding_desc& d) const;
  Status elementwise(const dshal_elementwise_desc& d) const;
  Status attention(const dshal_attention_desc& d) const;
  // A weight in the device's native layout; without a native prepack, *out is a plain copy.
  Status prepack_weight(const dshal_prepack_desc& d, Buffer* out) const;

  Status record(const Event& event) const;
  Status wait(const Event& event) const;
  // Blocking: waits for the work enqueued so far; returns its first error.
  Status synchronize() const;
  // Device time (ns) of the stream's completed work, measured or modelled by the adapter. A host
  // fallback's own compute is not in it, but the copies that stage its operands are: compare
  // fallback_counts() around a measurement to know. UNSUPPORTED when the adapter does not report it.
  Status device_time(uint64_t* ns) const;
};

class Event : public detail::Handle<detail::EventObj> {
 public:
  using Handle::Handle;
  // DSHAL_OK when done, DSHAL_ERROR_NOT_READY while running, or the covered work's error.
  Status query() const;
  Status synchronize() const;
};

// A group of devices that exchange data with all_to_all: the adapter's own exchange when they are
// of one adapter; staged through host memory, blocking, when they are of several.
class Communicator : public detail::Handle<detail::CommObj> {
 public:
  using Handle::Handle;
  static Status create(std::span<const Device* const> devices, Communicator* out);

  // Across processes, one device per process, for adapters with a transport of their own (NCCL on
  // cuda): whether device's adapter has one; an id made by one process (the caller sends it to the
  // others: MpiCommunicator::use_device_transport does it over MPI); and joining with it, which is
  // collective and blocking (adapter.h, comm_create_rank).
  static bool spans_processes(const Device& device);
  static Status make_id(const Device& device, dshal_comm_id* out);
  static Status join(const Device& device, const dshal_comm_id& id, uint32_t rank, uint32_t size, Communicator* out);

  // Ranks in every process: the length of the counts arrays.
  uint32_t size() const;
  // desc.ranks[i].stream must be a stream of the i-th device in this process (the dshal_stream from
  // stream_handle()): every device given to create, or the one device that joined. send/recv
  // buffers are Buffer::handle()s.
  Status all_to_all(const dshal_all_to_all_desc& desc) const;
};

// The handle of a stream for dshal_all_to_all_rank.
dshal_stream stream_handle(const Stream& s);

// ---- descriptor helpers ---------------------------------------------------------------------------

inline dshal_matrix matrix(const Buffer& b, dshal_dtype t, uint64_t ld, uint64_t offset = 0,
                           uint64_t batch_stride = 0) {
  return dshal_matrix{b.handle(), offset, t, ld, batch_stride};
}
inline dshal_tensor tensor(const Buffer& b, dshal_dtype t, uint64_t ld, uint64_t offset = 0) {
  return dshal_tensor{b.handle(), offset, t, ld};
}
inline dshal_buffer_ref ref(const Buffer& b, uint64_t offset = 0) { return dshal_buffer_ref{b.handle(), offset}; }

// A zeroed descriptor with struct_size set: auto d = desc<dshal_gemm_desc>();
template <typename D>
D desc() {
  D d{};
  d.struct_size = sizeof(D);
  return d;
}

}  // namespace dshal
