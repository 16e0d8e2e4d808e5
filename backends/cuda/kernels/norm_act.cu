// rms_norm and silu_mul launches (bodies in norm_act.hpp).
#include "args.hpp"
#include "launch.hpp"
#include "norm_act.hpp"

namespace dshal::cuda::kernels {

gpuError_t launch_rms_norm(const Stream& s, const dshal_rms_norm_desc& d) {
  RmsNormArgs a{rows_of(d.x), rows_of(d.weight), mut_rows_of(d.out), d.rows, d.cols, d.eps};
  return launch<RmsNormArgs, rms_norm_thread>(s.stream, rms_norm_shape(a), a);
}

gpuError_t launch_silu_mul(const Stream& s, const dshal_silu_mul_desc& d) {
  SiluMulArgs a{rows_of(d.gate), rows_of(d.up), mut_rows_of(d.out), d.rows, d.cols};
  return launch<SiluMulArgs, silu_mul_thread>(s.stream, silu_mul_shape(a), a);
}

}  // namespace dshal::cuda::kernels
