// adapters/npu-sim/npu_streams.cpp: streams (in-order queues, one worker thread each, the stand-in
// for a card's hardware queues), events (points in a stream), and the simulated device time each
// stream accumulates from the cost model. The error rules: queued work's first error is reported
// once by stream_synchronize, and by every event_query / event_synchronize whose point comes after it.
#include <utility>

#include "npu_sim.hpp"

using npu_sim::WorkResult;

// ---- the queue ---------------------------------------------------------------------------------

void NpuEventPoint::complete(WorkResult r) {
  std::lock_guard lock(mutex);
  result = std::move(r);
  done = true;
  reached.notify_all();
}

WorkResult NpuEventPoint::wait() {
  std::unique_lock lock(mutex);
  reached.wait(lock, [&] { return done; });
  return result;
}

dshal_stream_s::dshal_stream_s(dshal_device d) : device(d), worker_([this] { run(); }) {}

dshal_stream_s::~dshal_stream_s() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void dshal_stream_s::enqueue(Work work) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(work));
    ++enqueued_;
  }
  changed_.notify_all();
}

WorkResult dshal_stream_s::synchronize() {
  std::unique_lock lock(mutex_);
  const uint64_t target = enqueued_;
  changed_.wait(lock, [&] { return finished_ >= target; });
  return std::exchange(first_error_, WorkResult{});
}

WorkResult dshal_stream_s::pending_error() {
  std::lock_guard lock(mutex_);
  return first_error_;
}

// The worker: runs work in order, keeps the first error, adds up simulated device time (failed work
// counts too: the card spent it), and exits once stopping and drained.
void dshal_stream_s::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    Work work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Outcome o;
    try {
      o = work();
    } catch (const std::bad_alloc&) {
      o.result = {DSHAL_ERROR_OUT_OF_MEMORY, "queued work: out of host memory for the simulator's scratch"};
    } catch (const std::exception& e) {
      o.result = {DSHAL_ERROR_INTERNAL, std::string("queued work: ") + e.what()};
    } catch (...) {
      o.result = {DSHAL_ERROR_INTERNAL, "queued work: unknown exception"};
    }
    device_ns_.fetch_add(o.device_ns, std::memory_order_acq_rel);
    lock.lock();
    if (o.result.status != DSHAL_OK && first_error_.status == DSHAL_OK) first_error_ = std::move(o.result);
    ++finished_;
    changed_.notify_all();
  }
}

namespace npu_sim {
namespace {

dshal_status report(const WorkResult& r) { return r.status == DSHAL_OK ? DSHAL_OK : fail(r.status, r.message); }

std::shared_ptr<NpuEventPoint> current_point(dshal_event event) {
  std::lock_guard lock(event->mutex);
  return event->point;
}

}  // namespace

// ---- streams -----------------------------------------------------------------------------------

dshal_status stream_create(dshal_device device, dshal_stream* out) {
  return guarded("stream_create", [&] {
    *out = nullptr;
    *out = new dshal_stream_s(device);
    return DSHAL_OK;
  });
}

dshal_status stream_destroy(dshal_stream stream) {
  return guarded("stream_destroy", [&] {
    const WorkResult r = stream->synchronize();
    delete stream;
    return report(r);
  });
}

dshal_status stream_synchronize(dshal_stream stream) {
  return guarded("stream_synchronize", [&] { return report(stream->synchronize()); });
}

// Non-blocking: the modelled time of the work completed so far (the cost model, not wall time).
dshal_status stream_device_time(dshal_stream stream, uint64_t* ns) {
  return guarded("stream_device_time", [&] {
    *ns = stream->device_ns();
    return DSHAL_OK;
  });
}

// ---- events ------------------------------------------------------------------------------------

dshal_status event_create(dshal_device device, dshal_event* out) {
  return guarded("event_create", [&] {
    *out = nullptr;
    *out = new dshal_event_s{device, {}, nullptr};
    return DSHAL_OK;
  });
}

dshal_status event_destroy(dshal_event event) {
  return guarded("event_destroy", [&] {
    delete event;  // queued work keeps its own reference to the point it completes
    return DSHAL_OK;
  });
}

// Async: the stream's worker completes the new point when it gets there, carrying the stream's
// not-yet-reported error. Takes no device time.
dshal_status event_record(dshal_event event, dshal_stream stream) {
  return guarded("event_record", [&] {
    auto point = std::make_shared<NpuEventPoint>();
    stream->enqueue([stream, point] {
      point->complete(stream->pending_error());
      return dshal_stream_s::Outcome{};
    });
    std::lock_guard lock(event->mutex);
    event->point = std::move(point);
    return DSHAL_OK;
  });
}

// Async, across cards too: the stream's worker blocks on the point recorded so far. The point was
// enqueued before this call, so waits cannot form a cycle. A real card enqueues a device-side wait
// (Ascend: aclrtStreamWaitEvent) instead of blocking a host thread.
dshal_status stream_wait_event(dshal_stream stream, dshal_event event) {
  return guarded("stream_wait_event", [&] {
    const std::shared_ptr<NpuEventPoint> point = current_point(event);
    if (point)
      stream->enqueue([point] {
        point->wait();
        return dshal_stream_s::Outcome{};  // the other stream's error is reported there
      });
    return DSHAL_OK;
  });
}

dshal_status event_query(dshal_event event) {
  return guarded("event_query", [&] {
    const std::shared_ptr<NpuEventPoint> point = current_point(event);
    if (!point) return DSHAL_OK;
    std::lock_guard lock(point->mutex);
    if (!point->done) return DSHAL_ERROR_NOT_READY;
    return report(point->result);
  });
}

dshal_status event_synchronize(dshal_event event) {
  return guarded("event_synchronize", [&] {
    const std::shared_ptr<NpuEventPoint> point = current_point(event);
    return point ? report(point->wait()) : DSHAL_OK;
  });
}

}  // namespace npu_sim
