// Streams (non-blocking CUDA streams) and events (timing disabled). A stream error surfaces at its
// next synchronize, as the runtime reports sticky and asynchronous errors there.
#include "cuda.hpp"
#include "device_status.hpp"

namespace dshal::cuda {
namespace {

dshal_status stream_create(dshal_device device, dshal_stream* out) {
  return guarded([&] {
    *out = nullptr;
    Device* d = as_device(device);
    if (dshal_status st = use(d); st != DSHAL_OK) return st;
    auto s = std::make_unique<Stream>();
    s->device = d;
    DSHAL_GPU(gpuStreamCreateWithFlags(&s->stream, gpuStreamNonBlocking));
    void* words = nullptr;
    DSHAL_GPU(gpuMallocAsync(&words, backend::kStatusWords * sizeof(int32_t), s->stream));
    DSHAL_GPU(gpuMemsetAsync(words, 0, backend::kStatusWords * sizeof(int32_t), s->stream));
    DSHAL_GPU(gpuStreamSynchronize(s->stream));
    s->status = static_cast<int32_t*>(words);
    *out = reinterpret_cast<dshal_stream>(s.release());
    return DSHAL_OK;
  });
}

dshal_status stream_synchronize(dshal_stream stream) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    DSHAL_GPU(gpuStreamSynchronize(s->stream));
    // A kernel's report of bad input is returned once, then cleared.
    int32_t words[backend::kStatusWords] = {};
    DSHAL_GPU(gpuMemcpyAsync(words, s->status, sizeof words, gpuMemcpyDeviceToHost, s->stream));
    DSHAL_GPU(gpuStreamSynchronize(s->stream));
    std::string message;
    const dshal_status reported = backend::status_from_words(words, &message);
    if (reported == DSHAL_OK) return DSHAL_OK;
    DSHAL_GPU(gpuMemsetAsync(s->status, 0, sizeof words, s->stream));
    DSHAL_GPU(gpuStreamSynchronize(s->stream));
    return fail(reported, message);
  });
}

dshal_status stream_destroy(dshal_stream stream) {
  return guarded([&] {
    std::unique_ptr<Stream> s(as_stream(stream));
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    const gpuError_t pending = gpuStreamSynchronize(s->stream);
    gpuFreeAsync(s->status, s->stream);
    gpuStreamSynchronize(s->stream);
    gpuStreamDestroy(s->stream);
    return pending == gpuSuccess ? DSHAL_OK : gpu_fail(pending, "cudaStreamSynchronize");
  });
}

dshal_status event_create(dshal_device device, dshal_event* out) {
  return guarded([&] {
    *out = nullptr;
    Device* d = as_device(device);
    if (dshal_status st = use(d); st != DSHAL_OK) return st;
    auto e = std::make_unique<Event>();
    e->device = d;
    DSHAL_GPU(gpuEventCreateWithFlags(&e->event, gpuEventDisableTiming));
    *out = reinterpret_cast<dshal_event>(e.release());
    return DSHAL_OK;
  });
}

dshal_status event_destroy(dshal_event event) {
  return guarded([&] {
    std::unique_ptr<Event> e(as_event(event));
    DSHAL_GPU(gpuEventDestroy(e->event));
    return DSHAL_OK;
  });
}

dshal_status event_record(dshal_event event, dshal_stream stream) {
  return guarded([&] {
    Event* e = as_event(event);
    Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    DSHAL_GPU(gpuEventRecord(e->event, s->stream));
    e->recorded = true;
    return DSHAL_OK;
  });
}

dshal_status stream_wait_event(dshal_stream stream, dshal_event event) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    Event* e = as_event(event);
    if (!e->recorded) return DSHAL_OK;  // never recorded: complete
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    DSHAL_GPU(gpuStreamWaitEvent(s->stream, e->event, 0));  // across devices too
    return DSHAL_OK;
  });
}

dshal_status event_query(dshal_event event) {
  return guarded([&] {
    Event* e = as_event(event);
    if (!e->recorded) return DSHAL_OK;
    const gpuError_t q = gpuEventQuery(e->event);
    if (q == gpuErrorNotReady) return DSHAL_ERROR_NOT_READY;
    return q == gpuSuccess ? DSHAL_OK : gpu_fail(q, "cudaEventQuery");
  });
}

dshal_status event_synchronize(dshal_event event) {
  return guarded([&] {
    Event* e = as_event(event);
    if (!e->recorded) return DSHAL_OK;
    DSHAL_GPU(gpuEventSynchronize(e->event));
    return DSHAL_OK;
  });
}

}  // namespace

void fill_stream_slots(dshal_adapter_table* t) {
  t->stream_create = stream_create;
  t->stream_destroy = stream_destroy;
  t->stream_synchronize = stream_synchronize;
  t->event_create = event_create;
  t->event_destroy = event_destroy;
  t->event_record = event_record;
  t->stream_wait_event = stream_wait_event;
  t->event_query = event_query;
  t->event_synchronize = event_synchronize;
}

}  // namespace dshal::cuda
