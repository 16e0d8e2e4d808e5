#!/usr/bin/env python3
"""Development-time golden-data generator for the dshal DeepSeek executor.

Writes, for each tiny config below, into model/golden/<name>/:
  config.json                      hand-written, in the published DeepSeek (Hub) format
  model.safetensors                or model-0000X-of-00002.safetensors + model.safetensors.index.json
  logits.npy                       float32 [10, vocab]: 7 prompt rows, then 3 cached decode rows
  golden.json                      prompt ids, generated ids, versions, notes

The checkpoint uses the published per-expert tensor names and stored dtypes; the golden logits come
from transformers' fp32 eager model loaded with exactly the stored (rounded / dequantized) values.
Nothing in CI runs this. See README.md for the command and SEMANTICS.md for the maths.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPT = [1, 17, 42, 99, 3, 200, 255]
N_GEN = 4  # greedy tokens generated; the last one comes from the last logits row
FP8_BLOCK = 128
FP8_MAX = 448.0  # largest finite float8_e4m3fn

# Margins demanded of the goldens so that an executor that matches within 1e-4*max|logit| cannot
# pick a different expert or token. A seed that fails them is skipped (deterministically).
MIN_ROUTE_MARGIN = 1e-3  # in router score units (softmax prob / sigmoid (+bias))
MIN_ARGMAX_MARGIN_REL = 2e-3  # (top1 - top2) / max|logit| at each greedy step
SEED_TRIES = 400
# The fixtures must be well conditioned: transformers' own bf16 run (same weights, dtype=bfloat16) has to
# meet the executor's bf16 acceptance criterion (cosine >= 0.999 per row, same argmax where the fp32 lead
# > 1% of the row's max|logit|) with margin, and pick exactly the same experts.
BF16_MIN_COS = 0.9995
BF16_LEAD_REL = 1e-2
MIN_ROUTE_MARGIN_REL = 1e-2  # every routing gap / largest score of that comparison, fp32 (float64)
MAX_ABS_LOGIT_RANGE = (5.0, 15.0)

# Weight init (see README "Weights"). Random models with unit-gain residual branches are chaotic: their
# own bf16 run differs from fp32 by up to ~12% of max|logit|, so no bf16 comparison means anything.
# Trained models are far better conditioned; these gains imitate that.
INIT = {
    "qk_gain": 1.0,  # q, kv_a, kv_b: attention scores O(1)
    "out_gain": 0.5,  # o_proj / down_proj gain = out_gain / sqrt(2 * num_layers)
    "head_gain": 3.0,
    "router_gain_softmax": 3.0,  # router logits spread enough for clear top-k gaps
    "router_gain_sigmoid": 2.0,
    "bias_std": 0.15,
}

# --------------------------------------------------------------------------------------------
# Configs ("tiny configs that reach every path")
# --------------------------------------------------------------------------------------------

COMMON = {
    "vocab_size": 256,
    "hidden_size": 64,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "qk_nope_head_dim": 16,
    "qk_rope_head_dim": 16,
    "kv_lora_rank": 32,
    "v_head_dim": 24,
    "moe_intermediate_size": 32,
    "intermediate_size": 96,
    "moe_layer_freq": 1,
    "rope_theta": 10000,
    "max_position_embeddings": 256,  # = original_max_position_embeddings * factor
    "rms_norm_eps": 1e-06,
    "tie_word_embeddings": False,
    "hidden_act": "silu",
    "attention_bias": False,
    "attention_dropout": 0.0,
    "initializer_range": 0.02,
    "pretraining_tp": 1,
    "use_cache": True,
    "aux_loss_alpha": 0.001,
    "seq_aux": True,
    "bos_token_id": 0,
    "eos_token_id": 1,
}


def yarn(mscale, mscale_all_dim):
    return {
        "beta_fast": 32,
        "beta_slow": 1,
        "factor": 4,
        "mscale": mscale,
        "mscale_all_dim": mscale_all_dim,
        "original_max_position_embeddings": 64,
        "type": "yarn",
    }


SPECS = {
    "t-v2lite": {
        "storage": "f32",
        "shards": 1,
        "config": {
            "architectures": ["DeepseekV2ForCausalLM"],
            "model_type": "deepseek_v2",
            "num_hidden_layers": 3,
            "first_k_dense_replace": 1,
            "q_lora_rank": None,
            "n_routed_experts": 8,
            "num_experts_per_tok": 2,
            "n_shared_experts": 2,
            "scoring_func": "softmax",
            "topk_method": "greedy",
            "n_group": 1,
            "topk_group": 1,
            "norm_topk_prob": False,
            "routed_scaling_factor": 1.0,
            "rope_scaling": yarn(0.707, 0.707),
            "torch_dtype": "float32",
        },
    },
    "t-v2group": {
        "storage": "bf16",
        "shards": 1,
        "config": {
            "architectures": ["DeepseekV2ForCausalLM"],
            "model_type": "deepseek_v2",
            "num_hidden_layers": 3,
            "first_k_dense_replace": 1,
            "q_lora_rank": 48,
            "n_routed_experts": 16,
            "num_experts_per_tok": 3,
            "n_shared_experts": 2,
            "scoring_func": "softmax",
            "topk_method": "group_limited_greedy",
            "n_group": 4,
            "topk_group": 2,
            "norm_topk_prob": False,
            "routed_scaling_factor": 16.0,
            # mscale_all_dim 0: cos/sin attention_factor = 0.1*ln(4)+1 != 1, softmax scale unchanged
            "rope_scaling": yarn(1.0, 0),
            "torch_dtype": "bfloat16",
        },
    },
    "t-v3": {
        "storage": "f16",
        "shards": 2,
        "mtp": "full",
        "config": {
            "architectures": ["DeepseekV3ForCausalLM"],
            "model_type": "deepseek_v3",
            "num_hidden_layers": 4,
            "first_k_dense_replace": 2,
            "q_lora_rank": 48,
            "n_routed_experts": 16,
            "num_experts_per_tok": 4,
            "n_shared_experts": 1,
            "scoring_func": "sigmoid",
            "topk_method": "noaux_tc",
            "n_group": 4,
            "topk_group": 2,
            "norm_topk_prob": True,
            "routed_scaling_factor": 2.5,
            "ep_size": 1,
            "num_nextn_predict_layers": 1,
            # as published V3: attention_factor 1, softmax scale * (0.1*ln(4)+1)^2
            "rope_scaling": yarn(1.0, 1.0),
            "torch_dtype": "float16",
        },
    },
    "t-v3-fp8": {
        "storage": "fp8",
        "shards": 1,
        "mtp": "light",
        "config": {
            "architectures": ["DeepseekV3ForCausalLM"],
            "model_type": "deepseek_v3",
            "hidden_size": 320,
            "q_lora_rank": 192,
            "kv_lora_rank": 128,
            "moe_intermediate_size": 160,
            "intermediate_size": 96,
            # 2 layers (1 dense + 1 MoE) keep the fixture < 5 MB; t-v3 covers depth.
            "num_hidden_layers": 2,
            "first_k_dense_replace": 1,
            "n_routed_experts": 16,
            "num_experts_per_tok": 4,
            "n_shared_experts": 1,
            "scoring_func": "sigmoid",
            "topk_method": "noaux_tc",
            "n_group": 4,
            "topk_group": 2,
            "norm_topk_prob": True,
            "routed_scaling_factor": 2.5,
            "ep_size": 1,
            "num_nextn_predict_layers": 1,
            # distinct mscale / mscale_all_dim: attention_factor != 1 AND softmax scale changed
            "rope_scaling": yarn(1.0, 0.8),
            "torch_dtype": "bfloat16",
            "quantization_config": {
                "activation_scheme": "dynamic",
                "fmt": "e4m3",
                "quant_method": "fp8",
                "weight_block_size": [128, 128],
            },
        },
    },
}


def full_config(name):
    cfg = dict(COMMON)
    cfg.update(SPECS[name]["config"])
    cfg["transformers_version"] = transformers.__version__
    return dict(sorted(cfg.items()))


# --------------------------------------------------------------------------------------------
# Random weights in the published layout (fp32 master copies)
# --------------------------------------------------------------------------------------------


def is_moe_layer(cfg, layer):
    return (
        cfg["n_routed_experts"] is not None
        and layer >= cfg["first_k_dense_replace"]
        and layer % cfg["moe_layer_freq"] == 0
    )


def make_weights(cfg, gen):
    """Returns an ordered dict name -> fp32 tensor (published names, no MTP)."""
    H = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    dn, dr, dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    qlr, kvlr = cfg["q_lora_rank"], cfg["kv_lora_rank"]
    V, I, MI = cfg["vocab_size"], cfg["intermediate_size"], cfg["moe_intermediate_size"]
    E = cfg["n_routed_experts"]
    sig = cfg.get("scoring_func") == "sigmoid"

    def lin(n_out, n_in, gain=1.0):
        return torch.randn(n_out, n_in, generator=gen) * (gain / math.sqrt(n_in))

    def norm(n):
        return 1.0 + 0.1 * (2.0 * torch.rand(n, generator=gen) - 1.0)

    g_qk, g_head = INIT["qk_gain"], INIT["head_gain"]
    # GPT-2 style: every residual-branch output projection gets gain out_gain / sqrt(2 * num_layers)
    g_out = INIT["out_gain"] / math.sqrt(2 * cfg["num_hidden_layers"])
    w = {}
    w["model.embed_tokens.weight"] = torch.randn(V, H, generator=gen)
    for L in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{L}."
        w[p + "input_layernorm.weight"] = norm(H)
        if qlr is None:
            w[p + "self_attn.q_proj.weight"] = lin(nh * (dn + dr), H, g_qk)
        else:
            w[p + "self_attn.q_a_proj.weight"] = lin(qlr, H)
            w[p + "self_attn.q_a_layernorm.weight"] = norm(qlr)
            w[p + "self_attn.q_b_proj.weight"] = lin(nh * (dn + dr), qlr, g_qk)
        w[p + "self_attn.kv_a_proj_with_mqa.weight"] = lin(kvlr + dr, H, g_qk)
        w[p + "self_attn.kv_a_layernorm.weight"] = norm(kvlr)
        w[p + "self_attn.kv_b_proj.weight"] = lin(nh * (dn + dv), kvlr, g_qk)
        w[p + "self_attn.o_proj.weight"] = lin(H, nh * dv, g_out)
        w[p + "post_attention_layernorm.weight"] = norm(H)
        if is_moe_layer(cfg, L):
            w[p + "mlp.gate.weight"] = lin(E, H, INIT["router_gain_sigmoid"] if sig else INIT["router_gain_softmax"])
            if sig:
                # large enough to change which experts are chosen (checked below)
                w[p + "mlp.gate.e_score_correction_bias"] = INIT["bias_std"] * torch.randn(E, generator=gen)
            for e in range(E):
                q = p + f"mlp.experts.{e}."
                w[q + "gate_proj.weight"] = lin(MI, H)
                w[q + "up_proj.weight"] = lin(MI, H)
                w[q + "down_proj.weight"] = lin(H, MI, g_out)
            SI = MI * cfg["n_shared_experts"]
            q = p + "mlp.shared_experts."
            w[q + "gate_proj.weight"] = lin(SI, H)
            w[q + "up_proj.weight"] = lin(SI, H)
            w[q + "down_proj.weight"] = lin(H, SI, g_out)
        else:
            w[p + "mlp.gate_proj.weight"] = lin(I, H)
            w[p + "mlp.up_proj.weight"] = lin(I, H)
            w[p + "mlp.down_proj.weight"] = lin(H, I, g_out)
    w["model.norm.weight"] = norm(H)
    w["lm_head.weight"] = lin(V, H, g_head)
    return w


def add_mtp(cfg, w, kind, gen):
    """Extra MTP layer (index num_hidden_layers) as in published V3. Not used by the golden model."""
    N = cfg["num_hidden_layers"]
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    src, dst = f"model.layers.{N - 1}.", f"model.layers.{N}."
    mtp = {}
    if kind == "full":
        for k, v in w.items():
            if k.startswith(src):
                mtp[dst + k[len(src):]] = v.clone()
        mtp[dst + "embed_tokens.weight"] = w["model.embed_tokens.weight"].clone()
        mtp[dst + "shared_head.norm.weight"] = w["model.norm.weight"].clone()
        mtp[dst + "shared_head.head.weight"] = w["lm_head.weight"].clone()
    else:  # light: enough to exercise "skip layer >= N", incl. an fp8 weight + its scale
        mtp[dst + "input_layernorm.weight"] = w[src + "input_layernorm.weight"].clone()
        mtp[dst + "self_attn.o_proj.weight"] = w[src + "self_attn.o_proj.weight"].clone()
        mtp[dst + "shared_head.norm.weight"] = w["model.norm.weight"].clone()
    mtp[dst + "enorm.weight"] = 1.0 + 0.1 * torch.rand(H, generator=gen)
    mtp[dst + "hnorm.weight"] = 1.0 + 0.1 * torch.rand(H, generator=gen)
    mtp[dst + "eh_proj.weight"] = torch.randn(H, 2 * H, generator=gen) / math.sqrt(2 * H)
    return mtp


# --------------------------------------------------------------------------------------------
# Rounding to the stored dtype
# --------------------------------------------------------------------------------------------

FP8_LINEAR_SUFFIXES = (
    "self_attn.q_proj.weight",
    "self_attn.q_a_proj.weight",
    "self_attn.q_b_proj.weight",
    "self_attn.kv_a_proj_with_mqa.weight",
    "self_attn.kv_b_proj.weight",
    "self_attn.o_proj.weight",
    "mlp.gate_proj.weight",
    "mlp.up_proj.weight",
    "mlp.down_proj.weight",
    "eh_proj.weight",
)


def is_fp8_linear(name):
    if name.endswith(FP8_LINEAR_SUFFIXES):
        return True
    return ".mlp.experts." in name or ".mlp.shared_experts." in name


def is_norm(name):
    return name.endswith("norm.weight")


def quantize_fp8_blockwise(w, gen):
    """w fp32 [N, K] -> (fp8 [N, K], scale_inv fp32 [ceil(N/128), ceil(K/128)], dequant fp32)."""
    N, K = w.shape
    nb, kb = -(-N // FP8_BLOCK), -(-K // FP8_BLOCK)
    w = w.clone()
    # give every block its own magnitude so that a wrong block index in the executor shows up
    blk_gain = torch.pow(2.0, 2.0 * torch.rand(nb, kb, generator=gen) - 1.0)
    g = blk_gain.repeat_interleave(FP8_BLOCK, 0)[:N].repeat_interleave(FP8_BLOCK, 1)[:, :K]
    w *= g
    scale = torch.empty(nb, kb, dtype=torch.float32)
    q = torch.empty(N, K, dtype=torch.float8_e4m3fn)
    for i in range(nb):
        for j in range(kb):
            blk = w[i * FP8_BLOCK:(i + 1) * FP8_BLOCK, j * FP8_BLOCK:(j + 1) * FP8_BLOCK]
            s = (blk.abs().max() / FP8_MAX).to(torch.float32)
            scale[i, j] = s
            q[i * FP8_BLOCK:(i + 1) * FP8_BLOCK, j * FP8_BLOCK:(j + 1) * FP8_BLOCK] = (blk / s).to(
                torch.float8_e4m3fn
            )
    # dequant exactly as the executor must: f32(fp8) * f32(scale), one f32 rounding
    sfull = scale.repeat_interleave(FP8_BLOCK, 0)[:N].repeat_interleave(FP8_BLOCK, 1)[:, :K]
    deq = q.to(torch.float32) * sfull
    return q, scale, deq


def check_fp8_from_file(back, exact):
    """Independent dequant of the on-disk tensors (element-wise block lookup, numpy) == golden weights."""
    for name, s in back.items():
        if not name.endswith("_scale_inv") or name[: -len("_scale_inv")] not in exact:
            continue
        wname = name[: -len("_scale_inv")]
        q = back[wname]
        assert q.dtype == torch.float8_e4m3fn and s.dtype == torch.float32, wname
        N, K = q.shape
        assert tuple(s.shape) == (-(-N // FP8_BLOCK), -(-K // FP8_BLOCK)), (wname, s.shape)
        qf = q.to(torch.float32).numpy()
        sn = s.numpy()
        rows = np.arange(N)[:, None] // FP8_BLOCK
        cols = np.arange(K)[None, :] // FP8_BLOCK
        deq = (qf * sn[rows, cols]).astype(np.float32)
        assert np.array_equal(deq, exact[wname].numpy()), wname


def to_storage(storage, w, gen):
    """Returns (stored tensors dict, fp32 dict of the values the golden model uses)."""
    stored, exact = {}, {}
    for name, t in w.items():
        if name.endswith("e_score_correction_bias"):
            dt = torch.float32
        elif storage == "f32":
            dt = torch.float32
        elif storage == "bf16":
            dt = torch.bfloat16
        elif storage == "f16":
            dt = torch.float32 if is_norm(name) else torch.float16
        elif storage == "fp8":
            if is_fp8_linear(name):
                q, s, deq = quantize_fp8_blockwise(t, gen)
                stored[name] = q
                stored[name + "_scale_inv"] = s
                exact[name] = deq
                continue
            dt = torch.bfloat16
        else:
            raise ValueError(storage)
        st = t.to(dt).contiguous()
        stored[name] = st
        exact[name] = st.to(torch.float32)
    return stored, exact


# --------------------------------------------------------------------------------------------
# Published layout <-> transformers 5 layout (fused experts)
# --------------------------------------------------------------------------------------------


def to_hf_state_dict(cfg, exact):
    sd = {}
    E = cfg["n_routed_experts"]
    for name, t in exact.items():
        if ".mlp.experts." in name:
            continue
        sd[name] = t
    for L in range(cfg["num_hidden_layers"]):
        if not is_moe_layer(cfg, L):
            continue
        p = f"model.layers.{L}.mlp.experts."
        gate_up = torch.stack(
            [torch.cat([exact[p + f"{e}.gate_proj.weight"], exact[p + f"{e}.up_proj.weight"]], 0) for e in range(E)]
        )
        down = torch.stack([exact[p + f"{e}.down_proj.weight"] for e in range(E)])
        sd[p + "gate_up_proj"] = gate_up
        sd[p + "down_proj"] = down
    return sd


# --------------------------------------------------------------------------------------------
# Writing the checkpoint
# --------------------------------------------------------------------------------------------


def nbytes(t):
    return t.numel() * t.element_size()


def write_checkpoint(outdir, stored, shards):
    names = list(stored.keys())  # insertion order: embed, layers 0.., norm, head, MTP
    meta = {"format": "pt"}
    if shards == 1:
        save_file({k: stored[k] for k in names}, os.path.join(outdir, "model.safetensors"), metadata=meta)
        return ["model.safetensors"]
    total = sum(nbytes(stored[k]) for k in names)
    files = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
    weight_map, parts, acc = {}, [dict() for _ in range(shards)], 0
    for k in names:
        idx = min(shards - 1, int(acc * shards // total))
        parts[idx][k] = stored[k]
        weight_map[k] = files[idx]
        acc += nbytes(stored[k])
    for f, part in zip(files, parts):
        save_file(part, os.path.join(outdir, f), metadata=meta)
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(outdir, "model.safetensors.index.json"), "w") as fh:
        json.dump(index, fh, indent=2)
        fh.write("\n")
    return files + ["model.safetensors.index.json"]


def read_checkpoint(outdir):
    idx = os.path.join(outdir, "model.safetensors.index.json")
    if os.path.exists(idx):
        files = sorted(set(json.load(open(idx))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for f in files:
        out.update(load_file(os.path.join(outdir, f)))
    return out


# --------------------------------------------------------------------------------------------
# Golden run
# --------------------------------------------------------------------------------------------


def build_model(outdir, cfg_json, exact):
    config = AutoConfig.from_pretrained(outdir)
    check_config(config, cfg_json)
    if getattr(config, "quantization_config", None) is not None:
        # golden = fp32 model with dequantized weights; never transformers' fp8 quantizer
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(
        config, attn_implementation="eager", experts_implementation="eager", dtype=torch.float32
    )
    model.eval()
    sd = to_hf_state_dict(cfg_json, exact)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [m for m in missing if "rotary_emb" not in m]
    assert not missing and not unexpected, (missing, unexpected)
    # every parameter / buffer equals the stored value bit for bit
    msd = model.state_dict()
    for k, v in sd.items():
        assert msd[k].dtype == torch.float32 and torch.equal(msd[k], v), k
    assert model.config._attn_implementation == "eager"
    assert model.config._experts_implementation == "eager"
    return model


def check_config(config, cfg_json):
    """The hand-written published-format config.json must read back as intended."""
    for key in (
        "vocab_size", "hidden_size", "intermediate_size", "moe_intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
        "qk_rope_head_dim", "v_head_dim", "n_routed_experts", "n_shared_experts", "num_experts_per_tok",
        "n_group", "topk_group", "topk_method", "norm_topk_prob", "routed_scaling_factor",
        "first_k_dense_replace", "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings",
    ):
        assert getattr(config, key) == cfg_json[key], (key, getattr(config, key), cfg_json[key])
    rp = config.rope_parameters
    rs = cfg_json["rope_scaling"]
    assert rp["rope_type"] == "yarn", rp
    assert rp["rope_theta"] == cfg_json["rope_theta"], rp
    for k in ("factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "mscale", "mscale_all_dim"):
        assert rp[k] == rs[k], (k, rp, rs)
    assert config.head_dim == cfg_json["qk_rope_head_dim"]


def expected_rope(cfg):
    """Independent re-derivation of inv_freq / attention_factor / softmax scale (see SEMANTICS.md)."""
    rs = cfg["rope_scaling"]
    d, base, f = cfg["qk_rope_head_dim"], float(cfg["rope_theta"]), float(rs["factor"])
    omax = rs["original_max_position_embeddings"]

    def corr_dim(rot):
        return d * math.log(omax / (rot * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(corr_dim(rs["beta_fast"])), 0)
    high = min(math.ceil(corr_dim(rs["beta_slow"])), d - 1)
    if low == high:
        high += 0.001
    inv = []
    for i in range(d // 2):
        pf = base ** (2 * i / d)
        ramp = min(max((i - low) / (high - low), 0.0), 1.0)
        extra = 1.0 - ramp
        inv.append((1.0 / (f * pf)) * (1 - extra) + (1.0 / pf) * extra)

    def gm(s, m=1.0):
        return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1.0

    ms, msa = rs.get("mscale"), rs.get("mscale_all_dim")
    att = gm(f, ms) / gm(f, msa) if (ms and msa) else gm(f)
    scale = (cfg["qk_nope_head_dim"] + d) ** -0.5
    if msa:
        scale *= gm(f, msa) ** 2
    return np.array(inv), att, scale


class RouterProbe:
    """Records router inputs and recomputes the routing decision margins in float64."""

    def __init__(self, model, cfg):
        self.cfg, self.inputs, self.handles = cfg, [], []
        for L, layer in enumerate(model.model.layers):
            gate = getattr(layer.mlp, "gate", None)
            if gate is not None and not isinstance(gate, torch.nn.Linear):
                self.handles.append(gate.register_forward_hook(self._hook(L, gate)))

    def _hook(self, L, gate):
        def fn(mod, args, out):
            self.inputs.append((L, gate, args[0].detach().reshape(-1, args[0].shape[-1]).clone(), out[2].clone()))

        return fn

    def close(self):
        for h in self.handles:
            h.remove()

    @torch.no_grad()
    def analyse(self):
        """Margins of every routing decision, recomputed in float64.

        min_margin is absolute (score units); min_rel_margin divides each gap (n-th minus (n+1)-th
        largest) by the n-th score, i.e. the last one selected (for softmax this is about the gap in
        router-logit units).
        group_changed counts (layer, token) whose top-k would differ without the group limit."""
        cfg = self.cfg
        k, G, TG, E = cfg["num_experts_per_tok"], cfg["n_group"], cfg["topk_group"], cfg["n_routed_experts"]
        stats = {"min_margin": float("inf"), "min_rel_margin": float("inf"), "tokens": 0, "bias_changed": 0,
                 "zero_mask_changed": 0, "group_changed": 0, "experts_used": set(), "selections": []}

        def boundary(vals, n, kind):
            srt = vals.sort(descending=True).values
            gap = float(srt[n - 1] - srt[n])
            rel = gap / abs(float(srt[n - 1]))
            stats["min_margin"] = min(stats["min_margin"], gap)
            stats["min_rel_margin"] = min(stats["min_rel_margin"], rel)
            stats[kind] = min(stats.get(kind, float("inf")), rel)

        n_full = len(PROMPT) + N_GEN - 1
        for L, gate, x, chosen in self.inputs:
            logits = x.double() @ gate.weight.double().t()
            # counts (not margins / checks) only over the no-cache pass: each (layer, position) once
            full = logits.shape[0] == n_full
            sels = []
            for t in range(logits.shape[0]):
                lg = logits[t]
                if cfg["model_type"] == "deepseek_v2":
                    s = torch.softmax(lg, -1)
                    if cfg["topk_method"] == "greedy":
                        cand = s
                    else:
                        gs = s.view(G, E // G).max(-1).values
                        boundary(gs, TG, "min_rel_group_margin")
                        keep = torch.zeros(G, dtype=torch.bool)
                        keep[gs.topk(TG).indices] = True
                        cand = s.masked_fill(~keep.repeat_interleave(E // G), 0.0)
                    sel = cand.topk(k).indices
                    free = s.topk(k).indices
                else:
                    s = torch.sigmoid(lg)

                    def pick(sc, fill):
                        gs = sc.view(G, E // G).topk(2, -1).values.sum(-1)
                        keep = torch.zeros(G, dtype=torch.bool)
                        keep[gs.topk(TG).indices] = True
                        return gs, sc.masked_fill(~keep.repeat_interleave(E // G), fill)

                    sfc = s + gate.e_score_correction_bias.double()
                    gs, cand = pick(sfc, float("-inf"))
                    boundary(gs, TG, "min_rel_group_margin")
                    sel = cand.topk(k).indices
                    nob = pick(s, float("-inf"))[1].topk(k).indices
                    stats["bias_changed"] += full and set(nob.tolist()) != set(sel.tolist())
                    zm = pick(sfc, 0.0)[1].topk(k).indices
                    stats["zero_mask_changed"] += full and set(zm.tolist()) != set(sel.tolist())
                    free = sfc.topk(k).indices
                boundary(cand, k, "min_rel_expert_margin")
                stats["group_changed"] += full and set(free.tolist()) != set(sel.tolist())
                assert set(sel.tolist()) == set(chosen[t].tolist()), (L, t, sel, chosen[t])
                stats["experts_used"].update(sel.tolist())
                sels.append(sorted(sel.tolist()))
                stats["tokens"] += 1
            if full:
                stats["selections"].append((L, sels))
        return stats


def bf16_reference_run(outdir, cfg_json, exact, ids, check_loader):
    """transformers' own bf16 run: the same weights in a model built with dtype=bfloat16, eager
    attention, no cache, teacher-forced over ids. Returns (logits f32 [T, V], {layer: selections})."""
    config = AutoConfig.from_pretrained(outdir)
    if getattr(config, "quantization_config", None) is not None:
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(
        config, attn_implementation="eager", experts_implementation="eager", dtype=torch.bfloat16
    ).eval()
    missing, unexpected = model.load_state_dict(to_hf_state_dict(cfg_json, exact), strict=False)
    assert not [m for m in missing if "rotary_emb" not in m] and not unexpected, (missing, unexpected)
    sels, handles = {}, []
    for L, layer in enumerate(model.model.layers):
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None and not isinstance(gate, torch.nn.Linear):
            handles.append(gate.register_forward_hook(
                lambda mod, args, out, L=L: sels.__setitem__(L, [sorted(r.tolist()) for r in out[2]])))
    with torch.no_grad():
        logits = model(input_ids=ids, use_cache=False).logits[0].to(torch.float32)
    for h in handles:
        h.remove()
    if check_loader:
        # same model as from_pretrained(checkpoint, dtype=bfloat16)
        ref = AutoModelForCausalLM.from_pretrained(
            outdir, dtype=torch.bfloat16, attn_implementation="eager", experts_implementation="eager"
        ).eval()
        with torch.no_grad():
            lg = ref(input_ids=ids, use_cache=False).logits[0].to(torch.float32)
        assert torch.equal(lg, logits), "bf16 from_pretrained differs from bf16 from_config"
    return logits, sels


def bf16_stats(ref, got):
    """Per-row comparison of a bf16 run with the fp32 golden rows (both [T, V] f32)."""
    ref, got = ref.double(), got.double()
    rowmax = ref.abs().max(-1).values
    err = ((got - ref).abs().max(-1).values / rowmax)
    cos = (ref * got).sum(-1) / (ref.norm(dim=-1) * got.norm(dim=-1))
    top = ref.topk(2, -1).values
    lead = (top[:, 0] - top[:, 1]) / rowmax
    flips = [r for r in range(ref.shape[0]) if lead[r] > BF16_LEAD_REL and ref[r].argmax() != got[r].argmax()]
    return {
        "max_err_rel": float(err.max()),
        "min_cos": float(cos.min()),
        "min_top1_lead_rel": float(lead.min()),
        "rows_lead_below_1pct": int((lead <= BF16_LEAD_REL).sum()),
        "argmax_flips": flips,
        "argmax_diff_rows": int((ref.argmax(-1) != got.argmax(-1)).sum()),
    }


def run_golden(model):
    ids = torch.tensor([PROMPT])
    rows, gen = [], []
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True)
        cache = out.past_key_values
        rows.extend(out.logits[0])
        gen.append(int(out.logits[0, -1].argmax()))
        for _ in range(N_GEN - 1):
            out = model(input_ids=torch.tensor([[gen[-1]]]), past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            rows.append(out.logits[0, -1])
            gen.append(int(out.logits[0, -1].argmax()))
        cached = torch.stack(rows).to(torch.float32)
        full = model(input_ids=torch.tensor([PROMPT + gen[:-1]]), use_cache=False).logits[0]
    return cached, full, gen


def attempt(name, seed, outdir):
    spec = SPECS[name]
    cfg = full_config(name)
    gen = torch.Generator().manual_seed(seed)
    master = make_weights(cfg, gen)
    stored, exact = to_storage(spec["storage"], master, gen)
    mtp_stored = {}
    if spec.get("mtp"):
        mtp_master = add_mtp(cfg, master, spec["mtp"], gen)
        mtp_stored, _ = to_storage(spec["storage"], mtp_master, gen)
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    with open(os.path.join(outdir, "config.json"), "w") as fh:
        json.dump(cfg, fh, indent=2)
        fh.write("\n")
    all_stored = dict(stored)
    all_stored.update(mtp_stored)
    files = write_checkpoint(outdir, all_stored, spec["shards"])

    # the file round-trips bit for bit
    back = read_checkpoint(outdir)
    assert set(back) == set(all_stored), set(back) ^ set(all_stored)
    for k, v in all_stored.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k].view(torch.uint8), v.view(torch.uint8)), k

    if spec["storage"] == "fp8":
        check_fp8_from_file(back, exact)

    model = build_model(outdir, cfg, exact)

    # RoPE constants as SEMANTICS.md says
    inv, att, scale = expected_rope(cfg)
    re = model.model.rotary_emb
    assert np.allclose(re.inv_freq.double().numpy(), inv, rtol=1e-6), (re.inv_freq, inv)
    assert abs(re.attention_scaling - att) < 1e-12, (re.attention_scaling, att)
    assert abs(model.model.layers[0].self_attn.scaling - scale) < 1e-12

    probe = RouterProbe(model, cfg)
    cached, full, gen_ids = run_golden(model)
    probe.close()
    rstats = probe.analyse()

    maxabs = float(cached.abs().max())
    diff = float((cached - full).abs().max())
    assert diff <= 1e-5 * maxabs, f"cache path mismatch {diff} vs {maxabs}"
    for r in (6, 7, 8, 9):
        top = cached[r].sort(descending=True).values
        margin = float(top[0] - top[1]) / maxabs
        if margin < MIN_ARGMAX_MARGIN_REL:
            return None, f"argmax margin {margin:.2e} at row {r}"
    if rstats["min_margin"] < MIN_ROUTE_MARGIN:
        return None, f"routing margin {rstats['min_margin']:.2e}"
    if rstats["min_rel_margin"] < MIN_ROUTE_MARGIN_REL:
        return None, f"relative routing margin {rstats['min_rel_margin']:.2e}"
    if cfg["model_type"] == "deepseek_v3" and rstats["bias_changed"] == 0:
        return None, "e_score_correction_bias changed no selection"
    if cfg["n_group"] > 1 and rstats["group_changed"] == 0:
        return None, "group limit changed no selection"
    if len(rstats["experts_used"]) < cfg["n_routed_experts"] // 2:
        return None, f"only {len(rstats['experts_used'])} experts used"
    if not (MAX_ABS_LOGIT_RANGE[0] <= maxabs <= MAX_ABS_LOGIT_RANGE[1]):
        return None, f"max|logit| {maxabs:.2f} out of range"

    # conditioning: transformers' own bf16 run must meet the bf16 criterion with margin
    lg16, sel16 = bf16_reference_run(
        outdir, cfg, exact, torch.tensor([PROMPT + gen_ids[:-1]]), check_loader=spec["storage"] != "fp8"
    )
    b16 = bf16_stats(cached, lg16)
    if b16["min_cos"] < BF16_MIN_COS:
        return None, f"bf16 run: cosine {b16['min_cos']:.5f}"
    if b16["argmax_flips"]:
        return None, f"bf16 run: argmax differs at rows {b16['argmax_flips']}"
    for L, sels in rstats["selections"]:
        if sel16[L] != sels:
            return None, f"bf16 run: different experts at layer {L}"

    # cross-check: transformers' own loader maps the published names to the same model
    xcheck = (
        "transformers' FP8 loader is not used (5.23 rejects partial 128x128 blocks); the on-disk fp8 "
        "tensors and scales were dequantized again independently and equal the golden weights bit for bit"
    )
    if spec["storage"] != "fp8":
        ref = AutoModelForCausalLM.from_pretrained(
            outdir, dtype=torch.float32, attn_implementation="eager", experts_implementation="eager"
        ).eval()
        rsd, msd = ref.state_dict(), model.state_dict()
        for k2, v in msd.items():
            if "rotary_emb" in k2:
                continue
            assert torch.equal(rsd[k2].float(), v), f"from_pretrained differs at {k2}"
        with torch.no_grad():
            lg = ref(input_ids=torch.tensor([PROMPT + gen_ids[:-1]])).logits[0]
        assert torch.equal(lg, full), "from_pretrained logits differ"
        xcheck = "from_pretrained(checkpoint) gives bit-identical weights and logits"

    b16 = {k2: v for k2, v in b16.items() if k2 != "argmax_flips"}
    logits = np.ascontiguousarray(cached.numpy().astype("<f4"))
    np.save(os.path.join(outdir, "logits.npy"), logits)
    golden = {
        "config": name,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "seed": seed,
        "prompt_ids": PROMPT,
        "generated_ids": gen_ids,
        "logits_shape": list(logits.shape),
        "logits_dtype": "float32",
        "max_abs_logit": maxabs,
        "cache_vs_full_max_abs_diff": diff,
        "min_router_margin": rstats["min_margin"],
        "min_router_margin_rel": rstats["min_rel_margin"],
        "router_tokens_checked": rstats["tokens"],
        "routed_experts_used": len(rstats["experts_used"]),
        "tokens_whose_selection_the_group_limit_changes": rstats["group_changed"] if cfg["n_group"] > 1 else None,
        "tokens_whose_selection_the_bias_changes": rstats["bias_changed"] if cfg["model_type"] == "deepseek_v3" else None,
        "tokens_whose_selection_zero_group_mask_would_change": rstats["zero_mask_changed"] if cfg["model_type"] == "deepseek_v3" else None,
        "min_top1_lead_rel": b16["min_top1_lead_rel"],
        "transformers_bf16_run": b16,
        "rope": {"inv_freq": [float(x) for x in re.inv_freq], "attention_factor": att, "softmax_scale": scale},
        "note": (
            "Rows 0..6 = logits of one prefill over prompt_ids (row i predicts the token after position i). "
            "Rows 7..9 = cached decode steps feeding generated_ids[0..2] at positions 7..9. "
            "generated_ids[j] = argmax of row 6+j. transformers fp32 eager model; weights = the stored "
            "checkpoint values upcast to f32 (fp8: f32(fp8) * weight_scale_inv of its 128x128 block). "
            "Checked: a no-cache forward over prompt_ids + generated_ids[:3] matches all 10 rows within "
            "1e-5*max|logit|; " + xcheck + "."
            + (" MTP tensors (model.layers.<num_hidden_layers>.*) are in the checkpoint only; unused." if spec.get("mtp") else "")
        ),
    }
    with open(os.path.join(outdir, "golden.json"), "w") as fh:
        json.dump(golden, fh, indent=2)
        fh.write("\n")
    return golden, files


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", default=list(SPECS), help="configs to (re)generate")
    ap.add_argument("--out", default=HERE, help="output root (default: this folder)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    base_seeds = {"t-v2lite": 1000, "t-v2group": 2000, "t-v3": 3000, "t-v3-fp8": 4000}
    for name in args.names:
        outdir = os.path.join(args.out, name)
        for seed in range(base_seeds[name], base_seeds[name] + SEED_TRIES):
            golden, why = attempt(name, seed, outdir)
            if golden is not None:
                break
            print(f"{name}: seed {seed} rejected: {why}", file=sys.stderr)
        else:
            raise SystemExit(f"{name}: no acceptable seed")
        size = sum(os.path.getsize(os.path.join(outdir, f)) for f in os.listdir(outdir))
        print(
            f"{name}: seed {golden['seed']} max|logit| {golden['max_abs_logit']:.3f} "
            f"generated {golden['generated_ids']} router margin {golden['min_router_margin']:.2e} "
            f"bias-changed {golden['tokens_whose_selection_the_bias_changes']} "
            f"zero-mask-changed {golden['tokens_whose_selection_zero_group_mask_would_change']} "
            f"group-changed {golden['tokens_whose_selection_the_group_limit_changes']} "
            f"rel router margin {golden['min_router_margin_rel']:.3f} "
            f"min lead {golden['min_top1_lead_rel']:.4f} "
            f"bf16 err {golden['transformers_bf16_run']['max_err_rel']:.4f} "
            f"cos {golden['transformers_bf16_run']['min_cos']:.6f} "
            f"cache diff {golden['cache_vs_full_max_abs_diff']:.2e} size {size / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main()
