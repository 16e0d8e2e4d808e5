// adapters/template/template.hpp: the template adapter's handle types and the helpers every slot
// shares (per-thread last_error, exception guard). A port replaces the handle contents with the
// vendor's objects (context, allocation, queue, event, communicator) and keeps the shapes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <dshal/adapter.h>

namespace dshal_template {

// Every buffer's base address is a multiple of this; reported as properties.alignment.
inline constexpr uint32_t kAlignment = 64;

// ---- errors ------------------------------------------------------------------------------------

// Records message as the calling thread's last_error and returns status, so slots can write
// `return fail(DSHAL_ERROR_..., "...")`.
dshal_status fail(dshal_status status, std::string message);
// Clears the calling thread's last_error (a successful call leaves it empty).
void clear_error();
const char* last_error();
// Sends a line to hal's log (level 0 debug .. 3 error); dropped before negotiate.
void log(int level, const std::string& message);

// Runs body and converts any exception into a status: nothing may cross the C ABI. Every slot's
// body goes through here.
template <class Body>
dshal_status guarded(const char* slot, Body&& body) noexcept {
  try {
    clear_error();
    return body();
  } catch (const std::bad_alloc&) {
    return fail(DSHAL_ERROR_OUT_OF_MEMORY, std::string(slot) + ": out of host memory");
  } catch (const std::exception& e) {
    return fail(DSHAL_ERROR_INTERNAL, std::string(slot) + ": " + e.what());
  } catch (...) {
    return fail(DSHAL_ERROR_INTERNAL, std::string(slot) + ": unknown exception");
  }
}

// The outcome of one piece of queued work: a status and, on failure, the message last_error gives.
struct WorkResult {
  dshal_status status = DSHAL_OK;
  std::string message;
};

}  // namespace dshal_template

// ---- handles -----------------------------------------------------------------------------------
// The opaque handle types of adapter.h, defined here. hal never looks inside them.

struct dshal_device_s {
  uint32_t index;
};

struct dshal_buffer_s {
  dshal_device device;
  uint64_t size_bytes;
  std::byte* data;  // host memory, kAlignment-aligned; a real device keeps its allocation handle here
};

// A point in a stream that an event stands for: done once the stream's worker reaches it, carrying
// the first error of the work before it.
struct TemplateEventPoint {
  std::mutex mutex;
  std::condition_variable reached;
  bool done = false;
  dshal_template::WorkResult result;

  void complete(dshal_template::WorkResult r);
  dshal_template::WorkResult wait();
};

// An in-order queue drained by one worker thread: the host stand-in for a device queue.
struct dshal_stream_s {
  using Work = std::function<dshal_template::WorkResult()>;

  explicit dshal_stream_s(dshal_device d);
  ~dshal_stream_s();  // drains the queue and joins the worker

  void enqueue(Work work);
  // Blocks until everything enqueued so far has run; returns the first error since the last call.
  dshal_template::WorkResult synchronize();
  // The first error not yet reported by synchronize (events carry it without consuming it).
  dshal_template::WorkResult pending_error();

  dshal_device device;

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Work> queue_;
  uint64_t enqueued_ = 0, finished_ = 0;
  bool stopping_ = false;
  dshal_template::WorkResult first_error_;
  std::thread worker_;  // last: starts after the members it uses exist
};

struct dshal_event_s {
  dshal_device device;
  std::mutex mutex;
  std::shared_ptr<TemplateEventPoint> point;  // null: never recorded, counts as complete
};

// A real adapter keeps its vendor communicator here.
struct dshal_comm_s {
  std::vector<dshal_device> devices;  // ranks, in communicator order; size() is the comm size
};

// ---- slots, one group per file -----------------------------------------------------------------
namespace dshal_template {

// template_table.cpp: the table of the slots below, and negotiation handing hal a table (the
// template's own, or one derived from it) once the ABI versions agree.
const dshal_adapter_table& table();
dshal_status negotiate(uint32_t min_abi, uint32_t max_abi, const dshal_host_services* host,
                       const dshal_adapter_table* offered, const dshal_adapter_table** out_table);

// template_devices.cpp
dshal_status device_count(uint32_t* count);
dshal_status device_open(uint32_t index, dshal_device* out);
dshal_status device_close(dshal_device device);
dshal_status device_get_properties(dshal_device device, dshal_device_properties* props);
dshal_status buffer_alloc(dshal_device device, uint64_t size_bytes, dshal_buffer* out);
dshal_status buffer_free(dshal_buffer buffer);

// template_transfers.cpp
dshal_status copy_h2d(dshal_stream stream, const void* src, dshal_buffer dst, uint64_t dst_offset, uint64_t bytes);
dshal_status copy_d2h(dshal_stream stream, dshal_buffer src, uint64_t src_offset, void* dst, uint64_t bytes);
dshal_status copy_d2d(dshal_stream stream, dshal_buffer src, uint64_t src_offset, dshal_buffer dst,
                      uint64_t dst_offset, uint64_t bytes);
dshal_status fill(dshal_stream stream, dshal_buffer dst, uint64_t offset, uint64_t bytes, const void* pattern,
                  uint32_t pattern_bytes);

// template_streams.cpp
dshal_status stream_create(dshal_device device, dshal_stream* out);
dshal_status stream_destroy(dshal_stream stream);
dshal_status stream_synchronize(dshal_stream stream);
dshal_status event_create(dshal_device device, dshal_event* out);
dshal_status event_destroy(dshal_event event);
dshal_status event_record(dshal_event event, dshal_stream stream);
dshal_status stream_wait_event(dshal_stream stream, dshal_event event);
dshal_status event_query(dshal_event event);
dshal_status event_synchronize(dshal_event event);

// template_gemm.cpp
dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* desc);

// template_all_to_all.cpp
dshal_status comm_create(const dshal_device* devices, uint32_t count, dshal_comm* out);
dshal_status comm_destroy(dshal_comm comm);
dshal_status all_to_all(dshal_comm comm, const dshal_all_to_all_desc* desc);

}  // namespace dshal_template
