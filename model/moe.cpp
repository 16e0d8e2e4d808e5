// The routed experts of a MoE layer: route -> dispatch (permute into expert order) -> experts
// (grouped GEMMs over the permuted rows) -> combine (weighted sum back into the residual, in a fixed
// order). The shared experts run afterwards as a plain MLP. Under expert parallelism the experts
// step runs on the devices that hold them (expert_parallel.cpp), and the shared experts' first
// half overlaps it on the home device.
#include "model/expert_ffn.hpp"
#include "model/model.hpp"

namespace dshal::model {

Status Model::moe(int64_t l, int64_t n) {
  const LayerWeights& w = weights_.layers[size_t(l)];
  const ModelConfig& c = config();
  const Arena& a = arena_;
  const Buffer& ab = arena_buffer_;
  const uint64_t N = uint64_t(n), H = uint64_t(c.hidden_size), E = uint64_t(c.n_routed_experts);
  const uint64_t K = uint64_t(c.num_experts_per_tok), MI = uint64_t(c.moe_intermediate_size);

  // route: router logits [N][E] in f32, then top-k ids and weights
  const Slot& router_in = a.xn_f32.cols > 0 ? a.xn_f32 : a.xn;
  DSHAL_RETURN_IF_ERROR(linear(w.router, N, mat(ab, router_in), mat(ab, a.router)));
  auto route = desc<dshal_moe_route_desc>();
  route.tokens = N;
  route.experts = E;
  route.top_k = K;
  route.scoring = c.scoring == Scoring::kSigmoid ? DSHAL_MOE_SCORING_SIGMOID : DSHAL_MOE_SCORING_SOFTMAX;
  route.method = c.topk_method == TopkMethod::kNoauxTc             ? DSHAL_MOE_TOPK_NOAUX_TC
                 : c.topk_method == TopkMethod::kGroupLimitedGreedy ? DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY
                                                                    : DSHAL_MOE_TOPK_GREEDY;
  route.n_group = uint64_t(c.n_group);
  route.topk_group = uint64_t(c.topk_group);
  route.norm_topk_prob = c.norm_topk_prob && K > 1 ? 1 : 0;
  route.routed_scaling_factor = float(c.routed_scaling_factor);
  // DeepSeek-V2's own code normalises or scales, never both (transformers' V2 ignores
  // norm_topk_prob; the two agree for every published V2, where it is false).
  if (c.model_type == "deepseek_v2" && route.norm_topk_prob) route.routed_scaling_factor = 1.0f;
  route.logits = ten(ab, a.router);
  route.bias = w.router_bias;
  route.topk_ids = ref(ab, a.topk_ids.offset);
  route.topk_weights = ref(ab, a.topk_w.offset);
  DSHAL_RETURN_IF_ERROR(stream_.moe_route(route));

  // dispatch: token rows in expert order; offsets[e] is expert e's first row
  auto permute = desc<dshal_moe_permute_desc>();
  permute.tokens = N;
  permute.top_k = K;
  permute.experts = E;
  permute.hidden = H;
  permute.x = ten(ab, a.xn);
  permute.topk_ids = route.topk_ids;
  permute.out = ten(ab, a.xp);
  permute.expert_offsets = ref(ab, a.offsets.offset);
  permute.perm = ref(ab, a.perm.offset);
  DSHAL_RETURN_IF_ERROR(stream_.moe_permute(permute));

  if (ep_) {
    DSHAL_RETURN_IF_ERROR(ep_->run(l, stream_, ab, a));
    // While the rows travel and the experts run elsewhere, the home stream computes the shared
    // experts up to their down projection; x then gets the routed sum and the shared output in
    // the same order as on one device.
    const bool shared = w.gate.present();
    if (shared) DSHAL_RETURN_IF_ERROR(mlp_hidden(w.gate, w.up, n));
    DSHAL_RETURN_IF_ERROR(ep_->wait_for_combine(stream_));
    DSHAL_RETURN_IF_ERROR(combine(route.topk_weights, permute.perm, n));
    return shared ? mlp_down(w.down, n) : Status();
  }

  DSHAL_RETURN_IF_ERROR(expert_ffn(stream_, ab, w, E, N * K, MI, permute.expert_offsets, {a.xp, a.eg, a.eu, a.eh, a.ey}));
  DSHAL_RETURN_IF_ERROR(combine(route.topk_weights, permute.perm, n));
  return w.gate.present() ? mlp(w.gate, w.up, w.down, n) : Status();  // shared experts
}

// combine: x[t] += sum_j weight[t][j] * ey[row of (t, j)], j in order
Status Model::combine(const dshal_buffer_ref& weights, const dshal_buffer_ref& perm, int64_t n) {
  const ModelConfig& c = config();
  const Arena& a = arena_;
  const Buffer& ab = arena_buffer_;
  auto combine = desc<dshal_moe_unpermute_desc>();
  combine.tokens = uint64_t(n);
  combine.top_k = uint64_t(c.num_experts_per_tok);
  combine.hidden = uint64_t(c.hidden_size);
  combine.accumulate = 1;
  combine.y = ten(ab, a.ey);
  combine.perm = perm;
  combine.weights = weights;
  combine.out = ten(ab, a.x);
  return stream_.moe_unpermute(combine);
}

}  // namespace dshal::model
