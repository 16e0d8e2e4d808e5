// One kernel launch on a stream: arguments collected first, then set and enqueued under the
// kernel's lock (a cl_kernel's arguments are shared by every thread using it).
#pragma once

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "opencl.hpp"

namespace dshal::opencl {

class Launch {
 public:
  Launch(Stream* stream, const char* file, const char* kernel) : stream_(stream), file_(file), kernel_(kernel) {}

  template <class T>
  Launch& arg(const T& value) {
    std::vector<unsigned char> bytes(sizeof(T));
    std::memcpy(bytes.data(), &value, sizeof(T));
    args_.push_back({std::move(bytes), false});
    return *this;
  }
  // A place in a buffer: two kernel arguments, the cl_mem and the byte offset as ulong. A NULL
  // buffer (an absent optional operand) passes the stream's status buffer, which the kernel must
  // not touch as data.
  Launch& buffer(dshal_buffer b, uint64_t offset) {
    arg(b ? as_buffer(b)->mem : stream_->status);
    return arg(cl_ulong(offset));
  }
  Launch& buffer(const dshal_buffer_ref& r) { return buffer(r.buffer, r.offset); }
  // Local memory of `bytes`.
  Launch& local(size_t bytes) {
    args_.push_back({std::vector<unsigned char>(sizeof(size_t)), true, bytes});
    return *this;
  }
  // The stream's status words, for kernels that report bad device-resident input.
  Launch& status() { return arg(stream_->status); }

  // Enqueues over `global` work-items in groups of `local` (empty: the driver chooses). Global
  // sizes are rounded up to a multiple of the local ones; kernels check their bounds.
  dshal_status run(std::initializer_list<size_t> global, std::initializer_list<size_t> local = {});

 private:
  struct Arg {
    std::vector<unsigned char> bytes;
    bool is_local = false;
    size_t local_bytes = 0;
  };
  Stream* stream_;
  const char* file_;
  const char* kernel_;
  std::vector<Arg> args_;
};

inline uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace dshal::opencl
