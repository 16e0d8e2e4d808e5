#!/usr/bin/env python3
"""Independent float32 numpy re-implementation of SEMANTICS.md, run against the committed fixtures.

It reads only what the C++ executor reads (config.json, the safetensors files, golden.json), follows
SEMANTICS.md step by step (no transformers import), decodes greedily with a latent KV cache, and asserts
max|delta| <= 1e-4 * max|logit| against logits.npy and equal generated ids. torch is used only by
safetensors to decode BF16 / F16 / F8_E4M3 into float32.

Usage: python check_semantics.py [name ...]   (default: all fixture folders next to this file)
"""

import json
import math
import os
import sys

import numpy as np
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
f32 = np.float32


def load_checkpoint(d, cfg):
    idx = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
    raw = {}
    for f in files:
        raw.update(load_file(os.path.join(d, f)))
    N = cfg["num_hidden_layers"]
    w = {}
    for name, t in raw.items():
        if name.endswith("_scale_inv"):
            continue
        parts = name.split(".")
        if len(parts) > 2 and parts[1] == "layers" and int(parts[2]) >= N:
            continue  # MTP layer(s): skipped
        a = t.float().numpy().astype(f32)
        s = raw.get(name + "_scale_inv")
        if s is not None:  # fp8 block dequant: f32(fp8) * scale_inv[i//128, j//128]
            s = s.float().numpy()
            r = np.arange(a.shape[0])[:, None] // 128
            c = np.arange(a.shape[1])[None, :] // 128
            a = (a * s[r, c]).astype(f32)
        w[name] = a
    return w


def rmsnorm(x, wt, eps):
    var = np.mean(x * x, axis=-1, keepdims=True, dtype=f32)
    return (wt * (x / np.sqrt(var + f32(eps)))).astype(f32)


def silu(x):
    return (x / (f32(1) + np.exp(-x))).astype(f32)


def rope_tables(cfg):
    rs = cfg["rope_scaling"]
    d, base, fac = cfg["qk_rope_head_dim"], float(cfg["rope_theta"]), float(rs["factor"])
    omax = rs["original_max_position_embeddings"]
    bf, bs = rs.get("beta_fast") or 32, rs.get("beta_slow") or 1

    def cdim(rot):
        return d * math.log(omax / (rot * 2 * math.pi)) / (2 * math.log(base))

    low, high = max(math.floor(cdim(bf)), 0), min(math.ceil(cdim(bs)), d - 1)
    if low == high:
        high += 0.001
    inv = np.empty(d // 2, dtype=f32)
    for i in range(d // 2):
        pf = base ** (2 * i / d)
        ramp = min(max((i - low) / (high - low), 0.0), 1.0)
        inv[i] = (1 / (fac * pf)) * ramp + (1 / pf) * (1 - ramp)

    def gm(s, m=1.0):
        return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1.0

    ms, msa = rs.get("mscale"), rs.get("mscale_all_dim")
    att = gm(fac, ms) / gm(fac, msa) if (ms and msa) else gm(fac)
    scale = (cfg["qk_nope_head_dim"] + d) ** -0.5
    if msa:
        scale *= gm(fac, msa) ** 2
    return inv, f32(att), f32(scale)


def rope(x, pos, inv, att):
    """x [..., d] with interleaved pairs (x[2i], x[2i+1]); returns the same interleaved layout."""
    ang = (f32(pos) * inv).astype(f32)
    c, s = (np.cos(ang) * att).astype(f32), (np.sin(ang) * att).astype(f32)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x1 * c + x0 * s
    return out


def route(cfg, wts, L, x):
    """Returns [(expert, weight)] for one token x [H]."""
    p = f"model.layers.{L}.mlp.gate."
    k, E = cfg["num_experts_per_tok"], cfg["n_routed_experts"]
    G, TG = cfg.get("n_group") or 1, cfg.get("topk_group") or 1
    logits = (wts[p + "weight"] @ x).astype(f32)
    if cfg.get("scoring_func", "softmax") == "softmax":
        e = np.exp(logits - logits.max())
        scores = (e / e.sum()).astype(f32)
    else:
        scores = (f32(1) / (f32(1) + np.exp(-logits))).astype(f32)
    method = cfg["topk_method"]
    if method == "greedy":
        choice = scores
    elif method == "group_limited_greedy":
        gs = scores.reshape(G, E // G).max(-1)
        keep = np.zeros(G, bool)
        keep[np.argsort(-gs, kind="stable")[:TG]] = True
        choice = np.where(np.repeat(keep, E // G), scores, f32(0))
    elif method == "noaux_tc":
        sfc = scores + wts[p + "e_score_correction_bias"]
        gs = np.sort(sfc.reshape(G, E // G), -1)[:, -2:].sum(-1)
        keep = np.zeros(G, bool)
        keep[np.argsort(-gs, kind="stable")[:TG]] = True
        choice = np.where(np.repeat(keep, E // G), sfc, -np.inf)
    else:
        raise ValueError(method)
    idx = np.argsort(-choice, kind="stable")[:k]
    wt = scores[idx].astype(f32)
    if cfg["model_type"] == "deepseek_v3":
        if cfg["norm_topk_prob"]:
            wt = wt / (wt.sum() + f32(1e-20))
        wt = wt * f32(cfg["routed_scaling_factor"])
    else:  # original DeepSeek-V2: normalise XOR scale (transformers 5 V2 always scales, never normalises)
        if k > 1 and cfg["norm_topk_prob"]:
            wt = wt / (wt.sum() + f32(1e-20))
        else:
            wt = wt * f32(cfg["routed_scaling_factor"])
    return list(zip(idx.tolist(), wt.astype(f32).tolist()))


def mlp(wts, p, x):
    return (wts[p + "down_proj.weight"] @ (silu(wts[p + "gate_proj.weight"] @ x) * (wts[p + "up_proj.weight"] @ x))).astype(f32)


class Model:
    def __init__(self, d):
        self.cfg = cfg = json.load(open(os.path.join(d, "config.json")))
        self.w = load_checkpoint(d, cfg)
        self.inv, self.att, self.scale = rope_tables(cfg)
        # latent KV cache per layer: c_kv (post kv_a_layernorm) [T, kv_lora_rank], k_rope (post-RoPE) [T, dr]
        self.cache = [([], []) for _ in range(cfg["num_hidden_layers"])]

    def step(self, tok, pos):
        cfg, w = self.cfg, self.w
        H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
        dn, dr, dv, r = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
        eps = cfg["rms_norm_eps"]
        h = w["model.embed_tokens.weight"][tok].astype(f32)
        for L in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{L}."
            x = rmsnorm(h, w[p + "input_layernorm.weight"], eps)
            if cfg["q_lora_rank"] is None:
                q = w[p + "self_attn.q_proj.weight"] @ x
            else:
                qa = rmsnorm(w[p + "self_attn.q_a_proj.weight"] @ x, w[p + "self_attn.q_a_layernorm.weight"], 1e-6)
                q = w[p + "self_attn.q_b_proj.weight"] @ qa
            q = q.astype(f32).reshape(nh, dn + dr)
            q_nope, q_rope = q[:, :dn], rope(q[:, dn:], pos, self.inv, self.att)
            kva = (w[p + "self_attn.kv_a_proj_with_mqa.weight"] @ x).astype(f32)
            ckv = rmsnorm(kva[:r], w[p + "self_attn.kv_a_layernorm.weight"], 1e-6)
            krope = rope(kva[r:], pos, self.inv, self.att)
            self.cache[L][0].append(ckv)
            self.cache[L][1].append(krope)
            C, KR = np.stack(self.cache[L][0]), np.stack(self.cache[L][1])  # [T, r], [T, dr]
            kv = (C @ w[p + "self_attn.kv_b_proj.weight"].T).reshape(len(C), nh, dn + dv)
            k_nope, v = kv[:, :, :dn], kv[:, :, dn:]
            s = (np.einsum("hd,thd->ht", q_nope, k_nope) + np.einsum("hd,td->ht", q_rope, KR)) * self.scale
            s = np.exp(s - s.max(-1, keepdims=True))
            s = s / s.sum(-1, keepdims=True)
            o = np.einsum("ht,thd->hd", s.astype(f32), v).reshape(nh * dv).astype(f32)
            h = (h + w[p + "self_attn.o_proj.weight"] @ o).astype(f32)
            x = rmsnorm(h, w[p + "post_attention_layernorm.weight"], eps)
            moe = L >= cfg["first_k_dense_replace"] and L % cfg.get("moe_layer_freq", 1) == 0
            if moe:
                y = mlp(w, p + "mlp.shared_experts.", x)
                for e, g in route(cfg, w, L, x):
                    y = y + f32(g) * mlp(w, p + f"mlp.experts.{e}.", x)
            else:
                y = mlp(w, p + "mlp.", x)
            h = (h + y).astype(f32)
        h = rmsnorm(h, w["model.norm.weight"], eps)
        return (w["lm_head.weight"] @ h).astype(f32)


def check(name):
    d = os.path.join(HERE, name)
    g = json.load(open(os.path.join(d, "golden.json")))
    ref = np.load(os.path.join(d, "logits.npy"))
    m = Model(d)
    rows, gen = [], []
    for i, t in enumerate(g["prompt_ids"]):
        rows.append(m.step(t, i))
    gen.append(int(np.argmax(rows[-1])))
    for j in range(len(g["generated_ids"]) - 1):
        rows.append(m.step(gen[-1], len(g["prompt_ids"]) + j))
        gen.append(int(np.argmax(rows[-1])))
    out = np.stack(rows)
    err = float(np.abs(out - ref).max())
    mx = float(np.abs(ref).max())
    ok = err <= 1e-4 * mx and gen == g["generated_ids"] and out.shape == ref.shape
    print(f"{name}: max|delta| {err:.3e}  max|logit| {mx:.3f}  rel {err / mx:.2e}  generated {gen}  {'OK' if ok else 'FAIL'}")
    return ok


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(n for n in os.listdir(HERE) if os.path.exists(os.path.join(HERE, n, "golden.json")))
    sys.exit(0 if all([check(n) for n in names]) else 1)
