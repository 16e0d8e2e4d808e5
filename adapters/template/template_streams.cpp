// adapters/template/template_streams.cpp: streams (in-order queues, one worker thread each) and
// events (points in a stream). A port maps these onto its driver's queues and events / fences; the
// contracts to keep are the error rules: queued work's first error is reported once by
// stream_synchronize, and by every event_query / event_synchronize whose point comes after it.
#include <utility>

#include "template.hpp"

using dshal_template::WorkResult;

// ---- the queue ---------------------------------------------------------------------------------

void TemplateEventPoint::complete(WorkResult r) {
  std::lock_guard lock(mutex);
  result = std::move(r);
  done = true;
  reached.notify_all();
}

WorkResult TemplateEventPoint::wait() {
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

// The worker: pops work in order, keeps the first error, and exits once stopping and drained.
void dshal_stream_s::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    Work work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    WorkResult r;
    try {
      r = work();
    } catch (const std::exception& e) {
      r = {DSHAL_ERROR_INTERNAL, std::string("queued work: ") + e.what()};
    } catch (...) {
      r = {DSHAL_ERROR_INTERNAL, "queued work: unknown exception"};
    }
    lock.lock();
    if (r.status != DSHAL_OK && first_error_.status == DSHAL_OK) first_error_ = std::move(r);
    ++finished_;
    changed_.notify_all();
  }
}

namespace dshal_template {
namespace {

// Returns a queued error to the caller through the usual status + last_error pair.
dshal_status report(const WorkResult& r) { return r.status == DSHAL_OK ? DSHAL_OK : fail(r.status, r.message); }

// The event's latest point; null when never recorded.
std::shared_ptr<TemplateEventPoint> current_point(dshal_event event) {
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

// Waits for the stream's work, then releases it; a pending error is reported like synchronize.
dshal_status stream_destroy(dshal_stream stream) {
  return guarded("stream_destroy", [&] {
    const WorkResult r = stream->synchronize();
    delete stream;
    return report(r);
  });
}

// Blocks until all work enqueued so far has finished; the first error of that work is returned once
// (the next synchronize starts clean).
dshal_status stream_synchronize(dshal_stream stream) {
  return guarded("stream_synchronize", [&] { return report(stream->synchronize()); });
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
    delete event;  // work still queued keeps its own reference to the point it completes
    return DSHAL_OK;
  });
}

// Async: a new point replaces the previous one, and the stream's worker completes it when it gets
// there, carrying the stream's not-yet-reported error (the event "covers" that work).
dshal_status event_record(dshal_event event, dshal_stream stream) {
  return guarded("event_record", [&] {
    auto point = std::make_shared<TemplateEventPoint>();
    stream->enqueue([stream, point] {
      point->complete(stream->pending_error());
      return WorkResult{};
    });
    std::lock_guard lock(event->mutex);
    event->point = std::move(point);
    return DSHAL_OK;
  });
}

// Async: the stream's worker blocks on the point recorded so far (possibly on another device's
// stream). The point was enqueued before this call, so waits cannot form a cycle. An event never
// recorded is complete: nothing to wait for. A real device enqueues a device-side wait instead of
// blocking a host thread.
dshal_status stream_wait_event(dshal_stream stream, dshal_event event) {
  return guarded("stream_wait_event", [&] {
    const std::shared_ptr<TemplateEventPoint> point = current_point(event);
    if (point)
      stream->enqueue([point] {
        point->wait();
        return WorkResult{};  // the other stream's error is reported there, not here
      });
    return DSHAL_OK;
  });
}

// Non-blocking: NOT_READY is not a failure, so it leaves last_error empty.
dshal_status event_query(dshal_event event) {
  return guarded("event_query", [&] {
    const std::shared_ptr<TemplateEventPoint> point = current_point(event);
    if (!point) return DSHAL_OK;
    std::lock_guard lock(point->mutex);
    if (!point->done) return DSHAL_ERROR_NOT_READY;
    return report(point->result);
  });
}

dshal_status event_synchronize(dshal_event event) {
  return guarded("event_synchronize", [&] {
    const std::shared_ptr<TemplateEventPoint> point = current_point(event);
    return point ? report(point->wait()) : DSHAL_OK;
  });
}

}  // namespace dshal_template
