// Descriptor operands (adapter handles) -> the device addresses kernels take (hd.hpp's Rows).
#pragma once

#include "cuda.hpp"
#include "hd.hpp"
#include "weight_gemm.hpp"

namespace dshal::cuda::kernels {

inline Rows rows_of(const dshal_tensor& t) { return {at(t.buffer, t.offset), t.dtype, t.ld}; }
inline MutRows mut_rows_of(const dshal_tensor& t) { return {at(t.buffer, t.offset), t.dtype, t.ld}; }
inline Rows rows_of(const dshal_matrix& m) { return {at(m.buffer, m.offset), m.dtype, m.ld}; }
inline MutRows mut_rows_of(const dshal_matrix& m) { return {at(m.buffer, m.offset), m.dtype, m.ld}; }

// A weight operand of k columns; scales and blocks only for the quantized dtypes.
inline WeightView view_of(const dshal_weight& w, uint64_t k) {
  WeightView v;
  v.w = at(w.buffer, w.offset);
  v.dtype = w.dtype;
  v.ld = w.ld;
  v.k = k;
  if (w.dtype == DSHAL_DTYPE_FP8_E4M3 || w.dtype == DSHAL_DTYPE_INT4) {
    v.scales = reinterpret_cast<const float*>(at(w.scales, w.scales_offset));
    v.block_n = w.block_n;
    v.block_k = w.block_k;
  }
  return v;
}

// Stream-ordered scratch of bytes for the launches run(scratch) queues: allocated on the stream and
// freed on it after them, so it lives exactly as long as the kernels that use it. A launch error
// wins over a free error.
template <class Run>
gpuError_t with_scratch(const Stream& s, uint64_t bytes, Run&& run) {
  void* scratch = nullptr;
  if (gpuError_t e = gpuMallocAsync(&scratch, bytes, s.stream); e != gpuSuccess) return e;
  const gpuError_t e = run(scratch);
  const gpuError_t freed = gpuFreeAsync(scratch, s.stream);
  return e != gpuSuccess ? e : freed;
}

#if defined(__CUDACC__)
// A launch of body over shape on stream s; the body gets (blockIdx, threadIdx, blockDim, args).
template <class Args, void (*Body)(Index3, Index3, Index3, const Args&)>
__global__ void run_body(Args a) {
  Body({blockIdx.x, blockIdx.y, blockIdx.z}, {threadIdx.x, threadIdx.y, threadIdx.z},
       {blockDim.x, blockDim.y, blockDim.z}, a);
}
template <class Args, void (*Body)(Index3, Index3, Index3, const Args&)>
gpuError_t launch(gpuStream_t s, const LaunchShape& shape, const Args& a) {
  run_body<Args, Body><<<dim3(shape.grid.x, shape.grid.y, shape.grid.z), dim3(shape.block.x, shape.block.y, shape.block.z),
                         0, s>>>(a);
  return gpuGetLastError();
}
#endif

}  // namespace dshal::cuda::kernels
