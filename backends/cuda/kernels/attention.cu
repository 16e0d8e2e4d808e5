// attention launches (bodies in attention.hpp) over a stream-ordered scores scratch (with_scratch).
#include "args.hpp"
#include "attention.hpp"
#include "launch.hpp"

namespace dshal::cuda::kernels {
namespace {

HeadView view_of(const dshal_attention_view& v) {
  return {at(v.buffer, v.offset), v.dtype, v.token_stride, v.head_stride};
}

}  // namespace

gpuError_t launch_attention(const Stream& s, const dshal_attention_desc& d) {
  AttentionArgs a;
  a.q = view_of(d.q);
  a.out = at(d.out.buffer, d.out.offset);
  a.out_dtype = d.out.dtype;
  a.out_token_stride = d.out.token_stride;
  a.out_head_stride = d.out.head_stride;
  a.q_len = d.q_len;
  a.heads = d.heads;
  a.v_dim = d.v_dim;
  if (d.kv_len == 0 || d.kv_heads == 0) {  // nothing to attend to: the empty sum, 0
    a.kv_len = 0;
    return launch<AttentionArgs, attention_output_thread>(s.stream, attention_output_shape(a), a);
  }
  a.k = view_of(d.k);
  a.v = view_of(d.v);
  a.kv_len = d.kv_len;
  a.kv_heads = d.kv_heads;
  a.qk_dim = d.qk_dim;
  a.scale = d.scale;
  a.causal = d.causal != 0;
  a.q_offset = d.q_offset;
  return with_scratch(s, d.q_len * d.heads * d.kv_len * sizeof(float), [&](void* scores) {
    a.scores = static_cast<float*>(scores);
    gpuError_t e = launch<AttentionArgs, attention_scores_thread>(s.stream, attention_scores_shape(a), a);
    if (e == gpuSuccess) e = launch<AttentionArgs, attention_softmax_thread>(s.stream, attention_softmax_shape(a), a);
    if (e == gpuSuccess) e = launch<AttentionArgs, attention_output_thread>(s.stream, attention_output_shape(a), a);
    return e;
  });
}

}  // namespace dshal::cuda::kernels
