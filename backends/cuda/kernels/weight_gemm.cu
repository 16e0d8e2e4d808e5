// gemm_quant and grouped_gemm launches (bodies in weight_gemm.hpp).
#include "args.hpp"
#include "launch.hpp"
#include "weight_gemm.hpp"

namespace dshal::cuda::kernels {

gpuError_t launch_gemm_quant(const Stream& s, const dshal_gemm_quant_desc& d) {
  WeightGemmArgs a;
  a.a = rows_of(d.a);
  a.w = view_of(d.w, d.k);
  a.c = mut_rows_of(d.c);
  a.m = d.m;
  a.n = d.n;
  a.k = d.k;
  a.alpha = d.alpha;
  a.beta = d.beta;
  return launch<WeightGemmArgs, weight_gemm_thread>(s.stream, weight_gemm_shape(a), a);
}

gpuError_t launch_grouped_gemm(const Stream& s, const dshal_grouped_gemm_desc& d) {
  const auto* offsets = reinterpret_cast<const int32_t*>(at(d.offsets));
  const OffsetsCheckArgs check{offsets, d.groups, d.m, s.status};
  if (gpuError_t e = launch<OffsetsCheckArgs, offsets_check_thread>(s.stream, offsets_check_shape(), check); e != gpuSuccess)
    return e;
  WeightGemmArgs a;
  a.a = rows_of(d.a);
  a.w = view_of(d.w, d.k);
  a.w_group_stride = d.w_group_stride_bytes;
  a.scales_group_stride = d.scales_group_stride_bytes;
  a.offsets = offsets;
  a.groups = d.groups;
  a.c = mut_rows_of(d.c);
  a.m = d.m;
  a.n = d.n;
  a.k = d.k;
  return launch<WeightGemmArgs, weight_gemm_thread>(s.stream, weight_gemm_shape(a), a);
}

}  // namespace dshal::cuda::kernels
