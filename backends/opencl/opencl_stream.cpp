// opencl streams and events: a stream is an in-order command queue plus its status words; an event
// is a marker with a snapshot of the recording stream's status words.
#include "opencl.hpp"

namespace dshal::opencl {
namespace {

cl_context event_context(cl_event e) {
  cl_context c = nullptr;
  clGetEventInfo(e, CL_EVENT_CONTEXT, sizeof(c), &c, nullptr);
  return c;
}

void CL_CALLBACK complete_user_event(cl_event, cl_int status, void* user) {
  cl_event u = static_cast<cl_event>(user);
  clSetUserEventStatus(u, status < 0 ? status : CL_COMPLETE);
  clReleaseEvent(u);  // the callback's reference
}

// Reads status words of `mem` through `queue` (blocking) and clears them when `clear`.
dshal_status read_status(cl_command_queue queue, cl_mem mem, bool clear) {
  int32_t words[kStatusWords] = {};
  DSHAL_CL_RETURN_IF_ERROR(clEnqueueReadBuffer(queue, mem, CL_TRUE, 0, sizeof(words), words, 0, nullptr, nullptr),
                           "reading a stream's status words");
  std::string message;
  const dshal_status st = status_from_words(words, &message);
  if (st == DSHAL_OK) return DSHAL_OK;
  if (clear) {
    const int32_t zero[kStatusWords] = {};
    DSHAL_CL_RETURN_IF_ERROR(clEnqueueWriteBuffer(queue, mem, CL_TRUE, 0, sizeof(zero), zero, 0, nullptr, nullptr),
                             "clearing a stream's status words");
  }
  return fail(st, message);
}

}  // namespace

cl_event enqueue_marker(cl_command_queue queue) {
  cl_event e = nullptr;
  if (clEnqueueMarkerWithWaitList(queue, 0, nullptr, &e) != CL_SUCCESS) return nullptr;
  return e;
}

cl_event bridge_event(cl_event event, cl_context context) {
  if (event_context(event) == context) {
    clRetainEvent(event);
    return event;
  }
  cl_int err = CL_SUCCESS;
  cl_event user = clCreateUserEvent(context, &err);
  if (err != CL_SUCCESS) return nullptr;
  clRetainEvent(user);  // released by the callback
  if (clSetEventCallback(event, CL_COMPLETE, complete_user_event, user) != CL_SUCCESS) {
    clSetUserEventStatus(user, CL_COMPLETE);
    clReleaseEvent(user);
    clReleaseEvent(user);
    return nullptr;
  }
  return user;
}

dshal_status enqueue_wait(cl_command_queue queue, cl_context context, cl_event event) {
  cl_event e = bridge_event(event, context);
  if (!e) return fail(DSHAL_ERROR_DEVICE, "could not make a queue wait for an event of another OpenCL context");
  const cl_int err = clEnqueueBarrierWithWaitList(queue, 1, &e, nullptr);
  clReleaseEvent(e);
  DSHAL_CL_RETURN_IF_ERROR(err, "clEnqueueBarrierWithWaitList");
  return DSHAL_OK;
}

dshal_status stream_create(dshal_device device, dshal_stream* out) {
  *out = nullptr;
  return guarded([&] {
    Device* d = as_device(device);
    auto s = std::make_unique<Stream>();
    s->device = d;
    cl_int err = CL_SUCCESS;
    s->queue = clCreateCommandQueue(d->context(), d->info->id, 0, &err);
    if (err != CL_SUCCESS) return cl_fail(err, "clCreateCommandQueue(" + d->info->name + ")");
    const int32_t zero[kStatusWords] = {};
    s->status = clCreateBuffer(d->context(), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof(zero),
                               const_cast<int32_t*>(zero), &err);
    if (err != CL_SUCCESS) {
      clReleaseCommandQueue(s->queue);
      return cl_fail(err, "clCreateBuffer(stream status words)");
    }
    *out = reinterpret_cast<dshal_stream>(s.release());
    return DSHAL_OK;
  });
}

dshal_status stream_synchronize(dshal_stream stream) {
  Stream* s = as_stream(stream);
  DSHAL_CL_RETURN_IF_ERROR(clFinish(s->queue), "clFinish");
  return read_status(s->queue, s->status, true);
}

dshal_status stream_destroy(dshal_stream stream) {
  const dshal_status st = stream_synchronize(stream);
  const std::string message = last_error();
  Stream* s = as_stream(stream);
  clReleaseMemObject(s->status);
  clReleaseCommandQueue(s->queue);
  delete s;
  return st == DSHAL_OK ? st : fail(st, message);
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

dshal_status event_destroy(dshal_event event) {
  Event* e = as_event(event);
  if (e->marker) clReleaseEvent(e->marker);  // OpenCL keeps a queued marker alive on its own
  if (e->status) clReleaseMemObject(e->status);
  delete e;
  return DSHAL_OK;
}

dshal_status event_record(dshal_event event, dshal_stream stream) {
  return guarded([&] {
    Event* e = as_event(event);
    Stream* s = as_stream(stream);
    std::lock_guard lock(e->m);
    if (e->status && e->recorded_on->context() != s->device->context()) {
      clReleaseMemObject(e->status);
      e->status = nullptr;
    }
    if (!e->status) {
      cl_int err = CL_SUCCESS;
      e->status = clCreateBuffer(s->device->context(), CL_MEM_READ_WRITE, sizeof(int32_t) * kStatusWords, nullptr, &err);
      if (err != CL_SUCCESS) return cl_fail(err, "clCreateBuffer(event status words)");
    }
    e->recorded_on = s->device;
    DSHAL_CL_RETURN_IF_ERROR(
        clEnqueueCopyBuffer(s->queue, s->status, e->status, 0, 0, sizeof(int32_t) * kStatusWords, 0, nullptr, nullptr),
        "event_record: snapshot of the stream's status");
    cl_event marker = enqueue_marker(s->queue);
    if (!marker) return fail(DSHAL_ERROR_DEVICE, "clEnqueueMarkerWithWaitList failed");
    if (e->marker) clReleaseEvent(e->marker);
    e->marker = marker;
    return DSHAL_OK;
  });
}

dshal_status stream_wait_event(dshal_stream stream, dshal_event event) {
  return guarded([&] {
    Event* e = as_event(event);
    Stream* s = as_stream(stream);
    std::lock_guard lock(e->m);
    if (!e->marker) return DSHAL_OK;
    return enqueue_wait(s->queue, s->device->context(), e->marker);
  });
}

namespace {

// The recorded point's status once complete, with a reference held so a concurrent record cannot
// release what is being read.
dshal_status finished_status(Event* e, bool wait) {
  cl_event marker = nullptr;
  cl_mem status = nullptr;
  Device* device = nullptr;
  {
    std::lock_guard lock(e->m);
    if (!e->marker) return DSHAL_OK;
    marker = e->marker;
    status = e->status;
    device = e->recorded_on;
    clRetainEvent(marker);
    clRetainMemObject(status);
  }
  dshal_status st = DSHAL_OK;
  cl_int exec = CL_QUEUED;
  if (wait) clWaitForEvents(1, &marker);
  clGetEventInfo(marker, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(exec), &exec, nullptr);
  if (exec < 0)
    st = cl_fail(exec, "work covered by the event");
  else if (exec != CL_COMPLETE)
    st = DSHAL_ERROR_NOT_READY;
  else
    st = read_status(device->aux_queue, status, false);
  clReleaseEvent(marker);
  clReleaseMemObject(status);
  return st;
}

}  // namespace

dshal_status event_query(dshal_event e) {
  return guarded([&] { return finished_status(as_event(e), false); });
}

dshal_status event_synchronize(dshal_event e) {
  return guarded([&] { return finished_status(as_event(e), true); });
}

}  // namespace dshal::opencl
