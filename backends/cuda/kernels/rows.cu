// rope, softmax, elementwise and embedding launches (bodies in rope_softmax.hpp and elementwise.hpp).
#include "args.hpp"
#include "elementwise.hpp"
#include "rope_softmax.hpp"
#include "rows_launch.hpp"

namespace dshal::cuda::kernels {

gpuError_t launch_rope(const Stream& s, const dshal_rope_desc& d) {
  RopeArgs a{at(d.buffer, d.offset), d.dtype, d.token_stride, d.head_stride,
             reinterpret_cast<const int32_t*>(at(d.positions)), reinterpret_cast<const float*>(at(d.cos_table)),
             reinterpret_cast<const float*>(at(d.sin_table)), d.tokens, d.heads, d.dim / 2, d.max_position, s.status};
  return launch<RopeArgs, rope_thread>(s.stream, rope_shape(a), a);
}

gpuError_t launch_softmax(const Stream& s, const dshal_softmax_desc& d) {
  SoftmaxArgs a{rows_of(d.x), mut_rows_of(d.out), d.rows, d.cols, d.scale, d.causal, d.row_period, d.causal_offset};
  return launch<SoftmaxArgs, softmax_thread>(s.stream, softmax_shape(a), a);
}

gpuError_t launch_elementwise(const Stream& s, const dshal_elementwise_desc& d) {
  const bool binary = d.op == DSHAL_ELEMENTWISE_ADD || d.op == DSHAL_ELEMENTWISE_MUL;
  ElementwiseArgs a{at(d.a.buffer, d.a.offset), binary ? at(d.b.buffer, d.b.offset) : nullptr,
                    at(d.out.buffer, d.out.offset), d.a.dtype, d.b.dtype, d.out.dtype, d.op, d.alpha, d.n};
  return launch<ElementwiseArgs, elementwise_thread>(s.stream, elementwise_shape(a), a);
}

gpuError_t launch_embedding(const Stream& s, const dshal_embedding_desc& d) {
  EmbeddingArgs a{rows_of(d.table), reinterpret_cast<const int32_t*>(at(d.ids)), mut_rows_of(d.out),
                  d.tokens, d.vocab, d.hidden, s.status};
  return launch<EmbeddingArgs, embedding_thread>(s.stream, embedding_shape(a), a);
}

}  // namespace dshal::cuda::kernels
