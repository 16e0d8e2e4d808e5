// cpu streams and events: one worker thread per stream runs its tasks in order; events are shared
// signals completed in stream order.
#include <new>

#include "cpu.hpp"

namespace dshal::cpu {

void Signal::complete(dshal_status st, std::string msg) {
  {
    std::lock_guard lock(m);
    done = true;
    status = st;
    message = std::move(msg);
  }
  cv.notify_all();
}

void Signal::wait() {
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
}

Stream::Stream(Device* device) : device_(device), worker_([this] { run(); }) {}

Stream::~Stream() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  worker_.join();
}

void Stream::enqueue(Task task) {
  {
    std::lock_guard lock(m_);
    queue_.push_back(std::move(task));
    ++enqueued_;
  }
  work_cv_.notify_one();
}

void Stream::enqueue_signal(std::shared_ptr<Signal> signal) {
  // Runs in order like any task; reads the first error so far under the lock the worker writes it.
  enqueue([this, signal](std::string*) {
    dshal_status st;
    std::string msg;
    {
      std::lock_guard lock(m_);
      st = error_;
      msg = error_message_;
    }
    signal->complete(st, std::move(msg));
    return DSHAL_OK;
  });
}

dshal_status Stream::synchronize(std::string* message) {
  std::unique_lock lock(m_);
  idle_cv_.wait(lock, [&] { return finished_ == enqueued_; });
  const dshal_status st = error_;
  *message = std::move(error_message_);
  error_ = DSHAL_OK;
  error_message_.clear();
  return st;
}

void Stream::run() {
  std::unique_lock lock(m_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything ran
    Task task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    std::string error;
    dshal_status st;
    try {
      st = task(&error);
    } catch (const std::bad_alloc&) {
      st = DSHAL_ERROR_OUT_OF_MEMORY;
      error = "host allocation failed inside a queued op";
    } catch (const std::exception& e) {
      st = DSHAL_ERROR_INTERNAL;
      error = e.what();
    }
    lock.lock();
    if (st != DSHAL_OK && error_ == DSHAL_OK) {
      error_ = st;
      error_message_ = std::move(error);
    }
    ++finished_;
    if (finished_ == enqueued_) idle_cv_.notify_all();
  }
}

dshal_status stream_create(dshal_device device, dshal_stream* out) {
  *out = nullptr;
  return guarded([&] {
    *out = reinterpret_cast<dshal_stream>(new Stream(as_device(device)));
    return DSHAL_OK;
  });
}

dshal_status stream_destroy(dshal_stream s) {
  std::string msg;
  const dshal_status st = as_stream(s)->synchronize(&msg);
  delete as_stream(s);
  return st == DSHAL_OK ? st : fail(st, msg);
}

dshal_status stream_synchronize(dshal_stream s) {
  std::string msg;
  const dshal_status st = as_stream(s)->synchronize(&msg);
  return st == DSHAL_OK ? st : fail(st, msg);
}

dshal_status event_create(dshal_device device, dshal_event* out) {
  *out = nullptr;
  return guarded([&] {
    auto* e = new Event;
    e->device = as_device(device);
    *out = reinterpret_cast<dshal_event>(e);
    return DSHAL_OK;
  });
}

dshal_status event_destroy(dshal_event e) {
  delete as_event(e);  // a queued signal keeps its own reference
  return DSHAL_OK;
}

dshal_status event_record(dshal_event e, dshal_stream s) {
  return guarded([&] {
    auto signal = std::make_shared<Signal>();
    {
      std::lock_guard lock(as_event(e)->m);
      as_event(e)->signal = signal;
    }
    as_stream(s)->enqueue_signal(std::move(signal));
    return DSHAL_OK;
  });
}

dshal_status stream_wait_event(dshal_stream s, dshal_event e) {
  return guarded([&] {
    std::shared_ptr<Signal> signal;
    {
      std::lock_guard lock(as_event(e)->m);
      signal = as_event(e)->signal;
    }
    if (signal)
      as_stream(s)->enqueue([signal](std::string*) {
        signal->wait();
        return DSHAL_OK;
      });
    return DSHAL_OK;
  });
}

namespace {
std::shared_ptr<Signal> current(dshal_event e) {
  std::lock_guard lock(as_event(e)->m);
  return as_event(e)->signal;
}
dshal_status signal_status(Signal& s) {
  return s.status == DSHAL_OK ? DSHAL_OK : fail(s.status, s.message);
}
}  // namespace

dshal_status event_query(dshal_event e) {
  std::shared_ptr<Signal> s = current(e);
  if (!s) return DSHAL_OK;
  std::lock_guard lock(s->m);
  return s->done ? signal_status(*s) : DSHAL_ERROR_NOT_READY;
}

dshal_status event_synchronize(dshal_event e) {
  std::shared_ptr<Signal> s = current(e);
  if (!s) return DSHAL_OK;
  s->wait();
  std::lock_guard lock(s->m);
  return signal_status(*s);
}

}  // namespace dshal::cpu
