// hal's own objects behind the C++ handles. Each carries a magic tag so a foreign or freed handle
// put into a descriptor is caught by validation instead of reaching an adapter.
#pragma once

#include <dshal/adapter.h>
#include <dshal/dshal.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace dshal::detail {

struct Adapter;  // registry.hpp
struct StreamObj;

enum : uint32_t {
  kDeviceMagic = 0xd5a1de01,
  kBufferMagic = 0xd5a1bf02,
  kStreamMagic = 0xd5a15703,
  kEventMagic = 0xd5a1e704,
  kCommMagic = 0xd5a1c005,
};

struct DeviceObj {
  uint32_t magic = kDeviceMagic;
  const Adapter* adapter = nullptr;
  const dshal_adapter_table* table = nullptr;
  dshal_device handle = nullptr;
  uint32_t index = 0;
  std::string id;
  std::string backend;
  dshal_device_properties props{};
  // Calls per dshal_op that ran on the host, and that went to the adapter.
  std::array<std::atomic<uint64_t>, DSHAL_OP_COUNT> fallbacks{};
  std::array<std::atomic<uint64_t>, DSHAL_OP_COUNT> natives{};
  // The user's Device handle plus every buffer, stream, event and communicator on it: the adapter
  // device is closed when the last of them is released, whatever the order.
  std::atomic<uint32_t> refs{1};
  // Live streams, synchronized before a buffer is freed so no queued work still reads it.
  std::mutex streams_mutex;
  std::vector<StreamObj*> streams;
};

void retain(DeviceObj* d);
void drop(DeviceObj* d);

struct BufferObj {
  uint32_t magic = kBufferMagic;
  DeviceObj* device = nullptr;
  dshal_buffer handle = nullptr;  // NULL for size 0
  uint64_t size = 0;
};

struct StreamObj {
  uint32_t magic = kStreamMagic;
  DeviceObj* device = nullptr;
  dshal_stream handle = nullptr;
  // An error a buffer release's synchronize collected, reported by the next synchronize.
  std::mutex pending_mutex;
  Status pending;
};

struct EventObj {
  uint32_t magic = kEventMagic;
  DeviceObj* device = nullptr;
  dshal_event handle = nullptr;
};

struct CommObj {
  uint32_t magic = kCommMagic;
  const dshal_adapter_table* table = nullptr;  // NULL: devices of several adapters, staged by hal
  dshal_comm handle = nullptr;
  std::vector<DeviceObj*> devices;  // this process's ranks, first_rank onwards
  uint32_t first_rank = 0;
  uint32_t world_size = 0;          // ranks in every process
};

// Every live hal object is registered, so a handle from a descriptor is looked up before it is
// dereferenced: a freed, foreign or garbage handle is an argument error, never a crash.
void register_live(const void* obj);
void unregister_live(const void* obj);
bool is_live(const void* obj);

// The hal-level handle in a descriptor -> hal's object, or NULL when it is not a live one.
inline BufferObj* buffer_obj(dshal_buffer b) {
  auto* o = reinterpret_cast<BufferObj*>(b);
  return (o && is_live(o) && o->magic == kBufferMagic) ? o : nullptr;
}
inline StreamObj* stream_obj(dshal_stream s) {
  auto* o = reinterpret_cast<StreamObj*>(s);
  return (o && is_live(o) && o->magic == kStreamMagic) ? o : nullptr;
}

// The adapter's message after a failed call, as a Status.
Status adapter_status(const dshal_adapter_table* t, dshal_status code, const char* what);

}  // namespace dshal::detail
