// backends/vulkan internals: every physical device with a compute queue family, one VkDevice per
// opened device, buffers as VkBuffer + VkDeviceMemory, streams that batch commands into command
// buffers submitted with a timeline semaphore, and compute pipelines from embedded SPIR-V.
#pragma once

#include <vulkan/vulkan.h>
#include <dshal/adapter.h>

#include "adapter_support.hpp"
#include "device_status.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dshal::vulkan {

// ---- errors and logging (vulkan_adapter.cpp) ----
// The table's last_error (one message per thread) and the guard at the C boundary: adapter_support.hpp.
struct VulkanAdapter;
using Errors = backend::AdapterErrors<VulkanAdapter>;
inline const char* last_error() { return Errors::last_error(); }
inline dshal_status fail(dshal_status code, std::string msg) { return Errors::fail(code, std::move(msg)); }
inline dshal_status guarded(const std::function<dshal_status()>& f) { return Errors::guarded(f); }
// Maps a VkResult of `what` (the API call and its subject) to a dshal status and message.
dshal_status vk_fail(VkResult r, const std::string& what);
void log(int level, const std::string& message);

// A zeroed Vulkan struct with its sType (and pNext chain).
template <class T>
T make(VkStructureType type, void* next = nullptr) {
  T x{};
  x.sType = type;
  x.pNext = next;
  return x;
}

#define DSHAL_VK_RETURN_IF_ERROR(call, what)                                 \
  do {                                                                       \
    const VkResult dshal_vk_r_ = (call);                                     \
    if (dshal_vk_r_ != VK_SUCCESS) return vk_fail(dshal_vk_r_, (what));      \
  } while (0)

// Validation layer messages (DSHAL_VULKAN_VALIDATION=1): each is logged at level 3 and counted;
// the first one not yet reported fails the next synchronize / event query of any stream with
// DSHAL_ERROR_DEVICE (the messenger is per instance, so a message cannot be pinned to a stream).
void note_validation_message(const std::string& message);
dshal_status take_validation_error();

// ---- instance and physical devices (vulkan_platform.cpp) ----
struct PhysicalDevice {
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  uint32_t family = 0;  // a queue family with VK_QUEUE_COMPUTE_BIT
  VkPhysicalDeviceProperties props{};
  VkPhysicalDeviceMemoryProperties memory{};
  uint64_t max_alloc = 0;   // VkPhysicalDeviceMaintenance3Properties::maxMemoryAllocationSize
  uint64_t heap_bytes = 0;  // the largest device-local heap
  std::string driver;       // VkPhysicalDeviceDriverProperties: name and info (e.g. "llvmpipe Mesa 22.3.6")
};

struct Inventory {
  VkInstance instance = VK_NULL_HANDLE;
  std::vector<PhysicalDevice> devices;
  std::string unavailable;  // why there is no device, when there is none
};
const Inventory& inventory();

// ---- devices and memory (vulkan_device.cpp) ----
class Pipelines;
struct Stream;

struct Device {
  const PhysicalDevice* info = nullptr;
  VkDevice dev = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  std::mutex queue_mutex;  // the streams share one queue; vkQueueSubmit needs it externally synced
  uint32_t device_type = 0, staging_type = 0;  // memory type indices
  bool device_address = false;  // bufferDeviceAddress on: operands past maxStorageBufferRange work
  bool small_storage = false;   // 16- and 8-bit storage buffer access and types on
  bool device_memory_mapped = false;  // device memory is host-coherent: buffers stay mapped
  // Test switches that run every dispatch through the other shader variants (vulkan_device.cpp).
  bool force_device_address = false;
  std::unique_ptr<Pipelines> pipelines;
  std::mutex streams_mutex;
  std::set<Stream*> streams;
  ~Device();
};

// A buffer and its own memory; `mapped` is set for staging and, with Device::device_memory_mapped,
// for device buffers too.
struct Allocation {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void* mapped = nullptr;
  VkDeviceAddress address = 0;  // with Device::device_address
};
dshal_status allocate(Device* d, uint64_t size, bool staging, Allocation* out);
void release(Device* d, Allocation* a);

// ---- buffers (vulkan_buffer.cpp) ----
struct Buffer {
  Device* device = nullptr;
  Allocation alloc;
  uint64_t size = 0;  // as asked; the VkBuffer is rounded up to whole uint words for the shaders
};

// ---- streams and events (vulkan_stream.cpp) ----
// A timeline semaphore, shared by a stream and the events recorded on it (they may outlive it).
struct Timeline {
  Device* device = nullptr;
  VkSemaphore semaphore = VK_NULL_HANDLE;
  ~Timeline();
  uint64_t completed() const;
};

// The commands of one submission and what must live (or run on the host) until it completes.
struct Batch {
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  uint64_t value = 0;  // the timeline value its submission signals
  uint32_t commands = 0;
  std::vector<VkDescriptorPool> pools;
  std::vector<VkBufferView> views;  // texel views of its dispatches' operands
  std::vector<Allocation> staging;
  std::vector<std::function<void()>> host_steps;  // run once complete, in order (d2h copies out)
  std::vector<std::shared_ptr<Timeline>> waited;  // semaphores the submission waits on stay alive
  std::vector<std::shared_ptr<Buffer>> written;    // event snapshots it writes stay alive
};

struct Stream {
  Device* device = nullptr;
  std::mutex m;
  VkCommandPool pool = VK_NULL_HANDLE;
  std::shared_ptr<Timeline> timeline;
  uint64_t submitted = 0;  // the last value a submission will signal
  Batch open;              // being recorded; open.cmd is NULL before the first command
  std::vector<std::pair<std::shared_ptr<Timeline>, uint64_t>> waits;  // for the next submission
  std::deque<Batch> in_flight;
  dshal_status error = DSHAL_OK;  // the first failure of submitted work, reported by synchronize
  std::string error_message;
  Buffer status;  // the status words of backends/device_status.hpp, host-visible
};

struct Event {
  std::mutex m;
  std::shared_ptr<Timeline> timeline;  // NULL before the first record
  uint64_t value = 0;
  std::shared_ptr<Buffer> snapshot;  // the recording stream's status words at that point
};

inline Device* as_device(dshal_device d) { return reinterpret_cast<Device*>(d); }
inline Buffer* as_buffer(dshal_buffer b) { return reinterpret_cast<Buffer*>(b); }
inline Stream* as_stream(dshal_stream s) { return reinterpret_cast<Stream*>(s); }
inline Event* as_event(dshal_event e) { return reinterpret_cast<Event*>(e); }

// With s->m held: the command buffer to record into (begun on first use), after a barrier that
// orders the new command after everything before it on the queue. May submit a long batch first, so
// call it before attaching anything (staging, descriptor sets) to s->open.
dshal_status record(Stream* s, VkCommandBuffer* out);
// With s->m held: submits the open batch (and any pending waits); s->submitted then covers it.
dshal_status flush(Stream* s);
// With s->m held: retires completed batches (runs their host steps, frees what they held).
void retire(Stream* s);
// Retires every stream of the device: host steps of one stream may be owed to another's waiter.
void retire_all(Device* d);
// Blocks until value of t is reached.
dshal_status wait_value(const Timeline& t, uint64_t value);
// A descriptor set of `layout` that lives as long as s's open batch (s->m held).
dshal_status descriptor_set(Stream* s, VkDescriptorSetLayout layout, VkDescriptorSet* out);

// ---- status words (vulkan_status.cpp) ----
// Host-visible, zeroed status words of s's device (for a stream or an event snapshot).
dshal_status create_status(Device* d, Buffer* out);
// With s->m held: records a copy of s's status words into e's snapshot (allocated on first use).
dshal_status snapshot_status(Stream* s, Event* e);
// The error in completed status words, once; `clear` zeroes them after reading (streams do).
dshal_status report_status(Buffer* words, bool clear);

// ---- compute pipelines (vulkan_pipeline.cpp) ----
// The SPIR-V of shaders/<name>.comp in the variants of shaders/bind.glsl, indexed by
// 2 * device-address operands + small (16/8-bit) storage (embedded_shaders.cpp, generated).
struct EmbeddedShader {
  const char* name;
  struct Code {
    const uint32_t* words;
    size_t bytes;
  } variants[4];
};
extern const EmbeddedShader kEmbeddedShaders[];
extern const size_t kEmbeddedShaderCount;

struct Pipeline {
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;  // NULL for the device-address variant
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
};
// Builds each (shader, variant, operand count, specialization constants) once per device, through
// a VkPipelineCache kept on disk.
class Pipelines {
 public:
  explicit Pipelines(Device* d);
  ~Pipelines();
  // texel: the bindings (bit i = binding i) that are uniform texel buffers, not storage buffers.
  dshal_status get(const std::string& shader, int variant, uint32_t bindings, uint32_t texel,
                   const std::vector<uint32_t>& spec, const Pipeline** out);

 private:
  dshal_status build(const std::string& shader, int variant, uint32_t bindings, uint32_t texel,
                     const std::vector<uint32_t>& spec, Pipeline* p);
  Device* d_;
  std::mutex m_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::string cache_path_;
  std::map<std::string, Pipeline> built_;
};

// One operand of a dispatch: `range` bytes of `buffer` from `offset`, which must be a multiple of
// minStorageBufferOffsetAlignment (bind() rounds it down and says how far in the operand starts).
struct Binding {
  Buffer* buffer;
  uint64_t offset, range;
};
struct Bound {
  Binding binding;
  uint32_t offset;  // the byte offset of the operand's first byte within the binding
};
Bound bind(Stream* s, dshal_buffer buffer, uint64_t offset, uint64_t bytes);
// Bytes per element of the types shaders load as floats (f32, f16, bf16).
inline uint32_t elem_bytes(dshal_dtype t) { return t == DSHAL_DTYPE_F32 ? 4 : 2; }
// The stream's status words as an operand (shaders/status.glsl).
inline Binding status_operand(Stream* s) { return {&s->status, 0, 4 * backend::kStatusWords}; }

struct Dispatch {
  const char* shader;
  std::vector<Binding> operands;  // operand i of shaders/bind.glsl
  const void* push;               // starts with uvec2 addr[operands.size()], which dispatch() fills
  uint32_t push_bytes;
  uint32_t groups[3];
  std::vector<uint32_t> spec = {};  // specialization constants: constant_id i gets spec[i]
  // Bit i: operand i is a uniform texel buffer of vec4 f32 (VK_FORMAT_R32G32B32A32_SFLOAT; its
  // offset and range multiples of 16 bytes, at most maxTexelBufferElements texels). Such a shader
  // has no device-address form: the caller checks texel_operand_fits and !force_device_address.
  uint32_t texel = 0;
};
// Whether a binding fits one texel view of vec4 f32.
bool texel_operand_fits(const Device* d, const Binding& b);
// Records d on s (s->m held): operands as storage buffer bindings while each fits
// maxStorageBufferRange, else as buffer device addresses (UNSUPPORTED without bufferDeviceAddress);
// the texel operands as buffer views that live as long as s's open batch.
dshal_status dispatch(Stream* s, const Dispatch& d);

// ---- slots, by file ----
dshal_status device_count(uint32_t* count);
dshal_status device_open(uint32_t index, dshal_device* out);
dshal_status device_close(dshal_device device);
dshal_status device_get_properties(dshal_device device, dshal_device_properties* props);
dshal_status buffer_alloc(dshal_device device, uint64_t size, dshal_buffer* out);
dshal_status buffer_free(dshal_buffer buffer);
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
dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* desc);

}  // namespace dshal::vulkan
