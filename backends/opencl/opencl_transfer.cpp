// opencl copies and fill, enqueued on the stream's queue; copies between contexts go through host
// memory, ordered with user events.
#include <cstring>

#include "opencl.hpp"
#include "opencl_launch.hpp"

namespace dshal::opencl {

dshal_status copy_h2d(dshal_stream stream, const void* src, dshal_buffer dst, uint64_t off, uint64_t bytes) {
  DSHAL_CL_RETURN_IF_ERROR(clEnqueueWriteBuffer(as_stream(stream)->queue, as_buffer(dst)->mem, CL_FALSE, off, bytes, src,
                                                0, nullptr, nullptr),
                           "clEnqueueWriteBuffer(" + std::to_string(bytes) + " bytes at offset " + std::to_string(off) + ")");
  return DSHAL_OK;
}

dshal_status copy_d2h(dshal_stream stream, dshal_buffer src, uint64_t off, void* dst, uint64_t bytes) {
  DSHAL_CL_RETURN_IF_ERROR(clEnqueueReadBuffer(as_stream(stream)->queue, as_buffer(src)->mem, CL_FALSE, off, bytes, dst, 0,
                                               nullptr, nullptr),
                           "clEnqueueReadBuffer(" + std::to_string(bytes) + " bytes at offset " + std::to_string(off) + ")");
  return DSHAL_OK;
}

dshal_status copy_d2d(dshal_stream stream, dshal_buffer src, uint64_t src_off, dshal_buffer dst, uint64_t dst_off,
                      uint64_t bytes) {
  Stream* s = as_stream(stream);
  Buffer* from = as_buffer(src);
  Buffer* to = as_buffer(dst);
  return guarded([&] {
    if (from->device->context() != to->device->context() || s->device->context() != to->device->context())
      return copy_across_contexts(s, from, src_off, to, dst_off, bytes);
    DSHAL_CL_RETURN_IF_ERROR(clEnqueueCopyBuffer(s->queue, from->mem, to->mem, src_off, dst_off, bytes, 0, nullptr, nullptr),
                             "clEnqueueCopyBuffer(" + std::to_string(bytes) + " bytes)");
    return DSHAL_OK;
  });
}

dshal_status fill(dshal_stream stream, dshal_buffer dst, uint64_t off, uint64_t bytes, const void* pattern,
                  uint32_t pattern_bytes) {
  Stream* s = as_stream(stream);
  return guarded([&] {
    if (off % pattern_bytes == 0) {
      DSHAL_CL_RETURN_IF_ERROR(
          clEnqueueFillBuffer(s->queue, as_buffer(dst)->mem, pattern, pattern_bytes, off, bytes, 0, nullptr, nullptr),
          "clEnqueueFillBuffer(" + std::to_string(bytes) + " bytes)");
      return DSHAL_OK;
    }
    // clEnqueueFillBuffer wants the offset aligned to the pattern; a kernel writes the rest.
    uint32_t word = 0;
    std::memcpy(&word, pattern, pattern_bytes);
    return Launch(s, "copy.cl", "fill_pattern").buffer(dst, off).arg(cl_ulong(bytes)).arg(word).arg(pattern_bytes).run({size_t(bytes)});
  });
}

// Host staging between contexts: the source's queue reads into host memory after everything before
// it on `s`; the destination's queue writes it out; `s` then waits for the write, so what follows
// on `s` sees the copy complete.
dshal_status copy_across_contexts(Stream* s, Buffer* src, uint64_t src_off, Buffer* dst, uint64_t dst_off, uint64_t bytes) {
  auto staging = std::make_unique<std::vector<unsigned char>>(bytes);
  cl_event before = enqueue_marker(s->queue);
  if (!before) return fail(DSHAL_ERROR_DEVICE, "clEnqueueMarkerWithWaitList failed");
  cl_command_queue read_q = src->device->context() == s->device->context() ? s->queue : src->device->aux_queue;
  dshal_status st = enqueue_wait(read_q, src->device->context(), before);
  clReleaseEvent(before);
  if (st != DSHAL_OK) return st;
  cl_event read_done = nullptr;
  DSHAL_CL_RETURN_IF_ERROR(
      clEnqueueReadBuffer(read_q, src->mem, CL_FALSE, src_off, bytes, staging->data(), 0, nullptr, &read_done),
      "clEnqueueReadBuffer(staging " + std::to_string(bytes) + " bytes)");
  cl_command_queue write_q = dst->device->context() == s->device->context() ? s->queue : dst->device->aux_queue;
  st = enqueue_wait(write_q, dst->device->context(), read_done);
  clReleaseEvent(read_done);
  if (st != DSHAL_OK) return st;
  cl_event write_done = nullptr;
  DSHAL_CL_RETURN_IF_ERROR(
      clEnqueueWriteBuffer(write_q, dst->mem, CL_FALSE, dst_off, bytes, staging->data(), 0, nullptr, &write_done),
      "clEnqueueWriteBuffer(staging " + std::to_string(bytes) + " bytes)");
  // The staging memory lives until the write has run.
  auto* keep = staging.release();
  const cl_int err = clSetEventCallback(
      write_done, CL_COMPLETE, [](cl_event, cl_int, void* p) { delete static_cast<std::vector<unsigned char>*>(p); }, keep);
  if (err != CL_SUCCESS) {
    clWaitForEvents(1, &write_done);
    delete keep;
  }
  if (write_q != s->queue) st = enqueue_wait(s->queue, s->device->context(), write_done);
  clReleaseEvent(write_done);
  return st;
}

}  // namespace dshal::opencl
