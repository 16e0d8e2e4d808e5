// backends/cpu internals: devices are views of the host; each stream is an in-order queue drained by
// its own worker thread, with compute parallelized by oneTBB inside each task.
#pragma once

#include <dshal/adapter.h>

#include "adapter_support.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace dshal::cpu {
// The table's last_error (one message per thread) and the guard at the C boundary: adapter_support.hpp.
struct CpuAdapter;
using Errors = backend::AdapterErrors<CpuAdapter>;
inline const char* last_error() { return Errors::last_error(); }
inline dshal_status fail(dshal_status code, std::string msg) { return Errors::fail(code, std::move(msg)); }
inline dshal_status guarded(const std::function<dshal_status()>& f) { return Errors::guarded(f); }

struct Device {
  uint32_t index = 0;
};

// Work on a stream: returns a status and, on failure, a message.
using Task = std::function<dshal_status(std::string* error)>;

// A point in a stream's order that other streams and the host can wait for.
struct Signal {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  dshal_status status = DSHAL_OK;
  std::string message;
  void complete(dshal_status st, std::string msg);
  void wait();
};

class Stream {
 public:
  explicit Stream(Device* device);
  ~Stream();  // drains the queue, then joins the worker
  Device* device() const { return device_; }
  void enqueue(Task task);
  // Waits for all enqueued work; returns (and clears) its first error.
  dshal_status synchronize(std::string* message);
  // Enqueues completion of signal with the stream's first error so far.
  void enqueue_signal(std::shared_ptr<Signal> signal);

 private:
  void run();
  Device* device_;
  std::mutex m_;
  std::condition_variable work_cv_, idle_cv_;
  std::deque<Task> queue_;
  uint64_t enqueued_ = 0, finished_ = 0;
  bool stopping_ = false;
  dshal_status error_ = DSHAL_OK;
  std::string error_message_;
  std::thread worker_;
};

struct Event {
  Device* device = nullptr;
  std::mutex m;
  std::shared_ptr<Signal> signal;  // the last recorded point; NULL before the first record
};

inline Stream* as_stream(dshal_stream s) { return reinterpret_cast<Stream*>(s); }
inline Device* as_device(dshal_device d) { return reinterpret_cast<Device*>(d); }
inline Event* as_event(dshal_event e) { return reinterpret_cast<Event*>(e); }

// Slots, by file.
dshal_status device_count(uint32_t* count);
dshal_status device_open(uint32_t index, dshal_device* out);
dshal_status device_close(dshal_device device);
dshal_status device_get_properties(dshal_device device, dshal_device_properties* props);
dshal_status buffer_alloc(dshal_device device, uint64_t size, dshal_buffer* out);
dshal_status buffer_free(dshal_buffer buffer);
dshal_status import_host_memory(dshal_device device, void* ptr, uint64_t bytes, dshal_buffer* out);
dshal_status copy_h2d(dshal_stream s, const void* src, dshal_buffer dst, uint64_t off, uint64_t bytes);
dshal_status copy_d2h(dshal_stream s, dshal_buffer src, uint64_t off, void* dst, uint64_t bytes);
dshal_status copy_d2d(dshal_stream s, dshal_buffer src, uint64_t src_off, dshal_buffer dst, uint64_t dst_off, uint64_t bytes);
dshal_status fill(dshal_stream s, dshal_buffer dst, uint64_t off, uint64_t bytes, const void* pattern, uint32_t pattern_bytes);
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
void fill_compute_slots(dshal_adapter_table* t);  // gemm and every optional op

// Copies bytes, split over threads when large.
void parallel_copy(void* dst, const void* src, uint64_t bytes);

}  // namespace dshal::cpu
