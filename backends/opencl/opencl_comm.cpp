// opencl all_to_all: each receiver's queue waits for its peers' send buffers to be ready and copies
// its rows in — directly within one context, through host memory between contexts — then every
// queue waits for every receiver, so no send buffer is reused before each peer has read it.
#include <vector>

#include "opencl.hpp"

namespace dshal::opencl {
namespace {

struct Comm {
  std::vector<Device*> devices;
};

struct Events {
  std::vector<cl_event> list;
  ~Events() {
    for (cl_event e : list)
      if (e) clReleaseEvent(e);
  }
};

// Copies from peer p's send buffer to r's receive buffer through host memory: read on p's queue
// (after its earlier work), written on r's queue once the read is done.
dshal_status staged_copy(Stream* from, Buffer* src, uint64_t src_off, Stream* to, Buffer* dst, uint64_t dst_off,
                         uint64_t bytes) {
  auto* staging = new std::vector<unsigned char>(bytes);
  cl_event read_done = nullptr;
  cl_int err = clEnqueueReadBuffer(from->queue, src->mem, CL_FALSE, src_off, bytes, staging->data(), 0, nullptr, &read_done);
  if (err != CL_SUCCESS) {
    delete staging;
    return cl_fail(err, "all_to_all: clEnqueueReadBuffer into host staging");
  }
  dshal_status st = enqueue_wait(to->queue, to->device->context(), read_done);
  clReleaseEvent(read_done);
  if (st != DSHAL_OK) {
    clFinish(from->queue);
    delete staging;
    return st;
  }
  cl_event write_done = nullptr;
  err = clEnqueueWriteBuffer(to->queue, dst->mem, CL_FALSE, dst_off, bytes, staging->data(), 0, nullptr, &write_done);
  if (err != CL_SUCCESS) {
    clFinish(from->queue);
    delete staging;
    return cl_fail(err, "all_to_all: clEnqueueWriteBuffer from host staging");
  }
  err = clSetEventCallback(
      write_done, CL_COMPLETE, [](cl_event, cl_int, void* p) { delete static_cast<std::vector<unsigned char>*>(p); }, staging);
  if (err != CL_SUCCESS) {
    clWaitForEvents(1, &write_done);
    delete staging;
  }
  clReleaseEvent(write_done);
  return DSHAL_OK;
}

}  // namespace

dshal_status comm_create(const dshal_device* devices, uint32_t count, dshal_comm* out) {
  *out = nullptr;
  return guarded([&] {
    auto* c = new Comm;
    for (uint32_t i = 0; i < count; ++i) c->devices.push_back(as_device(devices[i]));
    *out = reinterpret_cast<dshal_comm>(c);
    return DSHAL_OK;
  });
}

dshal_status comm_destroy(dshal_comm comm) {
  delete reinterpret_cast<Comm*>(comm);
  return DSHAL_OK;
}

dshal_status all_to_all(dshal_comm, const dshal_all_to_all_desc* d) {
  return guarded([&] {
    const uint32_t n = d->rank_count;
    const uint64_t eb = d->elem_bytes;
    Events ready, done;
    for (uint32_t r = 0; r < n; ++r) {
      ready.list.push_back(enqueue_marker(as_stream(d->ranks[r].stream)->queue));
      if (!ready.list.back()) return fail(DSHAL_ERROR_DEVICE, "all_to_all: clEnqueueMarkerWithWaitList failed");
    }
    for (uint32_t r = 0; r < n; ++r) {
      const dshal_all_to_all_rank& me = d->ranks[r];
      Stream* to = as_stream(me.stream);
      Buffer* dst = as_buffer(me.recv.buffer);
      for (uint32_t p = 0; p < n; ++p) {
        const dshal_all_to_all_rank& peer = d->ranks[p];
        const uint64_t bytes = peer.send_counts[r] * eb;
        if (bytes == 0) continue;
        Stream* from = as_stream(peer.stream);
        Buffer* src = as_buffer(peer.send.buffer);
        const uint64_t src_off = peer.send.offset + peer.send_displs[r] * eb;
        const uint64_t dst_off = me.recv.offset + me.recv_displs[p] * eb;
        const bool one_context = src->device->context() == to->device->context() && dst->device->context() == to->device->context();
        if (!one_context) {
          if (dshal_status st = staged_copy(from, src, src_off, to, dst, dst_off, bytes); st != DSHAL_OK) return st;
          continue;
        }
        if (p != r)
          if (dshal_status st = enqueue_wait(to->queue, to->device->context(), ready.list[p]); st != DSHAL_OK) return st;
        DSHAL_CL_RETURN_IF_ERROR(clEnqueueCopyBuffer(to->queue, src->mem, dst->mem, src_off, dst_off, bytes, 0, nullptr, nullptr),
                                 "all_to_all: clEnqueueCopyBuffer");
      }
    }
    for (uint32_t r = 0; r < n; ++r) {
      done.list.push_back(enqueue_marker(as_stream(d->ranks[r].stream)->queue));
      if (!done.list.back()) return fail(DSHAL_ERROR_DEVICE, "all_to_all: clEnqueueMarkerWithWaitList failed");
    }
    for (uint32_t q = 0; q < n; ++q) {
      Stream* s = as_stream(d->ranks[q].stream);
      for (uint32_t r = 0; r < n; ++r)
        if (r != q)
          if (dshal_status st = enqueue_wait(s->queue, s->device->context(), done.list[r]); st != DSHAL_OK) return st;
    }
    return DSHAL_OK;
  });
}

}  // namespace dshal::opencl
