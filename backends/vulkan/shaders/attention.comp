#version 450
// Attention (MLA naive and absorbed): flash-style online softmax in f32 over blocks of 64 keys, so
// any kv_len fits in the same shared memory. Port of backends/opencl/kernels/attention.cl.
//
// The rows (query t, head h) sharing a kv head g form a group, query-major: row r is query
// r / group_heads, head g * group_heads + r % group_heads. A workgroup takes a tile of R rows of one
// group and a range of 64 * CPI output columns, so that each K and V element it loads serves R rows
// (absorbed decode: R heads per read of the latent cache; naive prefill: R tokens of one head).
// Per block of keys: invocation j scores key j0 + j against the tile's rows (queries staged in
// shared memory as f32), one invocation per row runs the online softmax update, then every
// invocation accumulates P V into its own output columns, kept in registers.
// Dimensions and dtypes are specialization constants (they fix the register and shared arrays);
// offsets are bytes within each bound operand, strides are elements (as dshal_attention_view).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bind.glsl"
#include "dtype.glsl"

#define KEYS 64u  // keys per block = invocations: one key each in the score step
layout(local_size_x = 64) in;
#define NEG_INF uintBitsToFloat(0xff800000u)

layout(constant_id = 0) const uint R = 8;     // rows per tile
layout(constant_id = 1) const uint D = 64;    // qk_dim
layout(constant_id = 2) const uint DV = 64;   // v_dim
layout(constant_id = 3) const uint CPI = 1;   // output columns per invocation (a range is 64 * CPI)
layout(constant_id = 4) const uint Q_DT = 1;
layout(constant_id = 5) const uint K_DT = 1;
layout(constant_id = 6) const uint V_DT = 1;
layout(constant_id = 7) const uint O_DT = 1;

layout(push_constant) uniform Params {
  uvec2 addr[4];  // Q, K, V, out
  uint q_off, q_ts, q_hs;
  uint k_off, k_ts, k_hs;
  uint v_off, v_ts, v_hs;
  uint o_off, o_ts, o_hs;
  uint q_len, kv_len, group_heads;
  uint causal;    // 1: query t sees keys j <= t + q_offset (the host sends 0 when that masks nothing)
  uint q_offset;
  float scale;
  uint item_base; // workgroup x + item_base = (group * tiles + tile) * ranges + column range
  uint tiles;
} p;

shared float qs[R * D];       // the tile's queries
shared float ps[R * KEYS];    // scores of the block, then probabilities
shared float alpha[R];        // this block's rescaling of each row's output
shared float run_max[R], run_sum[R];

// Keys visible to query t.
uint visible_keys(uint t) {
  return p.causal != 0u && t < p.kv_len - p.q_offset ? t + p.q_offset + 1u : p.kv_len;
}

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint ranges = (DV + 64u * CPI - 1u) / (64u * CPI);
  const uint item = p.item_base + gl_WorkGroupID.x;
  const uint col0 = item % ranges * 64u * CPI;
  const uint tile = item / ranges % p.tiles, g = item / ranges / p.tiles;
  const uint rows = p.q_len * p.group_heads, row0 = tile * R;
  const uint n = min(R, rows - row0);  // rows of this tile

  for (uint r = 0u; r < R; ++r) {
    const uint t = (row0 + r) / p.group_heads, h = g * p.group_heads + (row0 + r) % p.group_heads;
    for (uint c = lid; c < D; c += 64u) qs[r * D + c] = r < n ? LOAD(0, p.q_off, Q_DT, t * p.q_ts + h * p.q_hs + c) : 0.0;
  }
  if (lid < R) {
    run_max[lid] = NEG_INF;
    run_sum[lid] = 0.0;
  }
  float acc[R * CPI];
  [[unroll]] for (uint i = 0u; i < R * CPI; ++i) acc[i] = 0.0;

  // Rows are query-major, so the tile's last row sees the most keys.
  const uint end = visible_keys((row0 + n - 1u) / p.group_heads);
  for (uint j0 = 0u; j0 < end; j0 += KEYS) {
    const uint jn = min(KEYS, end - j0);
    barrier();  // staging done, or the previous block's ps and alpha use done
    if (lid < jn) {
      float s[R];
      [[unroll]] for (uint r = 0u; r < R; ++r) s[r] = 0.0;
      const uint k_at = (j0 + lid) * p.k_ts + g * p.k_hs;
      for (uint d = 0u; d < D; ++d) {
        const float kv = LOAD(1, p.k_off, K_DT, k_at + d);
        [[unroll]] for (uint r = 0u; r < R; ++r) s[r] = fma(qs[r * D + d], kv, s[r]);
      }
      [[unroll]] for (uint r = 0u; r < R; ++r) ps[r * KEYS + lid] = p.scale * s[r];
    }
    barrier();
    // Online softmax, one invocation per row: p = exp(s - m_new) on the row's visible keys, 0 past
    // them (and on the padding rows of a partial tile); the outputs are rescaled by
    // alpha = exp(m_old - m_new).
    if (lid < R) {
      const uint r = lid;
      const uint vis_end = r < n ? visible_keys((row0 + r) / p.group_heads) : 0u;
      const uint vis = vis_end > j0 ? min(jn, vis_end - j0) : 0u;
      float mx = NEG_INF;
      for (uint j = 0u; j < vis; ++j) mx = max(mx, ps[r * KEYS + j]);
      const float m_old = run_max[r], m_new = max(m_old, mx);
      float sum = 0.0;
      for (uint j = 0u; j < jn; ++j) {
        const float e = j < vis && m_new != NEG_INF ? exp(ps[r * KEYS + j] - m_new) : 0.0;
        ps[r * KEYS + j] = e;
        sum += e;
      }
      float a = 1.0;
      if (m_new != NEG_INF) {  // else nothing visible yet: this block adds nothing (p is 0)
        a = m_old == NEG_INF ? 0.0 : exp(m_old - m_new);
        run_sum[r] = run_sum[r] * a + sum;
        run_max[r] = m_new;
      }
      alpha[r] = a;
    }
    barrier();
    // The loops over rows and columns are unrolled so that acc stays in registers.
    [[unroll]] for (uint r = 0u; r < R; ++r) {
      const float a = alpha[r];
      [[unroll]] for (uint i = 0u; i < CPI; ++i) acc[r * CPI + i] *= a;
    }
    const uint v_at = j0 * p.v_ts + g * p.v_hs + col0 + lid;
    for (uint j = 0u; j < jn; ++j) {
      float vv[CPI];
      [[unroll]] for (uint i = 0u; i < CPI; ++i)
        vv[i] = col0 + lid + 64u * i < DV ? LOAD(2, p.v_off, V_DT, v_at + j * p.v_ts + 64u * i) : 0.0;
      [[unroll]] for (uint r = 0u; r < R; ++r) {
        const float pr = ps[r * KEYS + j];
        [[unroll]] for (uint i = 0u; i < CPI; ++i) acc[r * CPI + i] = fma(pr, vv[i], acc[r * CPI + i]);
      }
    }
  }
  barrier();

  [[unroll]] for (uint r = 0u; r < R; ++r) {
    if (r >= n) break;
    const uint t = (row0 + r) / p.group_heads, h = g * p.group_heads + (row0 + r) % p.group_heads;
    const float inv = run_sum[r] > 0.0 ? 1.0 / run_sum[r] : 0.0;
    [[unroll]] for (uint i = 0u; i < CPI; ++i) {
      const uint c = col0 + lid + 64u * i;
      if (c < DV) STORE(3, p.o_off, O_DT, t * p.o_ts + h * p.o_hs + c, acc[r * CPI + i] * inv);
    }
  }
}
