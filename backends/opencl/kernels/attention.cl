// Attention (MLA naive and absorbed): flash-style online softmax in f32 over blocks of keys, so any
// kv_len fits in the same local memory.
//
// A work-group takes a tile of R rows of one kv head's group and a range of CW output columns. The
// group's rows are (query t, head h) for its heads, query-major: with kv_heads == 1 (absorbed) a
// tile is up to R heads of one token reading the latent cache once; in naive prefill it is up to R
// tokens of one head. Per block of B keys: scores (S = scale * Q K^T), the online softmax update,
// then O = alpha O + P V. Work-items take RT rows at a time in the score and V loops, so that each
// K or V load (converted to f32 once) serves RT rows, and go VW columns at a time along the head
// dimension.
#include "dtype.h"

#define RT 4
#define VW 16
// The loops over RT rows are unrolled (#pragma unroll) so that acc[RT] lives in registers: PoCL
// otherwise keeps it on the stack, which costs about 5x.

// VW consecutive elements from element i of an F32, F16 or BF16 array (any element alignment).
inline float16 load16(global const uchar* base, ulong i, const int dt) {
  switch (dt) {
    case DT_F16: return vload_half16(0, (global const half*)base + i);
    case DT_BF16: return as_float16(convert_uint16(vload16(0, (global const ushort*)base + i)) << 16);
    default: return vload16(0, (global const float*)base + i);
  }
}

inline float hsum16(float16 v) {
  const float8 e = v.lo + v.hi;
  const float4 a = e.lo + e.hi;
  const float2 b = a.lo + a.hi;
  return b.x + b.y;
}

inline float hmax16(float16 v) {
  const float8 e = fmax(v.lo, v.hi);
  const float4 a = fmax(e.lo, e.hi);
  const float2 b = fmax(a.lo, a.hi);
  return fmax(b.x, b.y);
}

// Keys visible to query t: all, or those j <= t + q_offset when causal (q_offset >= kv_len masks
// nothing).
inline ulong visible_keys(ulong t, ulong kv_len, int causal, ulong q_offset) {
  return causal && q_offset < kv_len ? min(kv_len, t + q_offset + 1) : kv_len;
}

// ps[r][j] = scale * qs[r] . k_j for rows r0 .. r0 + RT and one key row k (element index k_at).
// Called with a literal dt, so that each dtype gets its own loop without a switch inside.
inline __attribute__((always_inline)) void score_rows(global const uchar* k, ulong k_at, const int dt,
                                                      local const float* qs, uint D, uint r0, float scale,
                                                      local float* ps, uint B, uint j) {
  float16 acc[RT];
  #pragma unroll
  for (int rr = 0; rr < RT; ++rr) acc[rr] = 0.0f;
  uint d = 0;
  for (; d + VW <= D; d += VW) {
    const float16 kv = load16(k, k_at + d, dt);
    #pragma unroll
    for (int rr = 0; rr < RT; ++rr) acc[rr] = fma(vload16(0, qs + (r0 + rr) * D + d), kv, acc[rr]);
  }
  #pragma unroll
  for (int rr = 0; rr < RT; ++rr) {
    float s = hsum16(acc[rr]);
    for (uint e = d; e < D; ++e) s = fma(qs[(r0 + rr) * D + e], load_elem(k, k_at + e, dt), s);
    ps[(r0 + rr) * B + j] = scale * s;
  }
}

// os[r][c .. c + VW) = alpha_r os[r][c ..] + sum_{j < jn} ps[r][j] v_j[c ..] for rows r0 .. r0 + RT,
// key j's columns at element v_at + j * v_ts. Literal dt as for score_rows.
inline __attribute__((always_inline)) void accumulate_rows(global const uchar* v, ulong v_at, ulong v_ts,
                                                           const int dt, uint jn, local const float* ps, uint B,
                                                           local const float* alpha, uint r0, local float* os,
                                                           uint CW, uint c) {
  float16 acc[RT];
  #pragma unroll
  for (int rr = 0; rr < RT; ++rr) acc[rr] = alpha[r0 + rr] * vload16(0, os + (r0 + rr) * CW + c);
  for (uint j = 0; j < jn; ++j) {
    const float16 vv = load16(v, v_at + j * v_ts, dt);
    #pragma unroll
    for (int rr = 0; rr < RT; ++rr) acc[rr] = fma((float16)ps[(r0 + rr) * B + j], vv, acc[rr]);
  }
  #pragma unroll
  for (int rr = 0; rr < RT; ++rr) vstore16(acc[rr], 0, os + (r0 + rr) * CW + c);
}

// Global size (L, tiles, kv_heads * column ranges), local size (L, 1, 1). Local memory: qs [R][D]
// (the tile's queries in f32), os [R][CW] (unnormalized outputs), ps [R][B] (scores, then
// probabilities), stats [3][R] (running max, running sum, this block's rescaling of os). R is a
// multiple of RT.
kernel void attention(global const uchar* q, ulong q_off, int q_dt, ulong q_ts, ulong q_hs,
                      global const uchar* k, ulong k_off, int k_dt, ulong k_ts, ulong k_hs,
                      global const uchar* v, ulong v_off, int v_dt, ulong v_ts, ulong v_hs,
                      global uchar* out, ulong o_off, int o_dt, ulong o_ts, ulong o_hs,
                      ulong q_len, ulong kv_len, ulong group_heads, uint D, ulong Dv, float scale, int causal,
                      ulong q_offset, uint R, uint B, uint CW, local float* qs, local float* os,
                      local float* ps, local float* stats) {
  const uint lid = get_local_id(0), L = get_local_size(0);
  const ulong ranges = (Dv + CW - 1) / CW;
  const ulong g = get_group_id(2) / ranges, col0 = get_group_id(2) % ranges * CW;
  const uint cw = min((ulong)CW, Dv - col0);
  const ulong row0 = (ulong)get_group_id(1) * R;
  const uint n = (uint)min((ulong)R, q_len * group_heads - row0);  // rows of this tile
  local float *run_max = stats, *run_sum = stats + R, *alpha = stats + 2 * R;
  q += q_off;
  k += k_off;
  v += v_off;
  out += o_off;

  // Row r is query (row0 + r) / group_heads, head g * group_heads + (row0 + r) % group_heads.
  for (uint r = 0; r < R; ++r) {
    const ulong t = (row0 + r) / group_heads, h = g * group_heads + (row0 + r) % group_heads;
    for (uint c = lid; c < D; c += L) qs[r * D + c] = r < n ? load_elem(q, t * q_ts + h * q_hs + c, q_dt) : 0.0f;
    for (uint c = lid; c < cw; c += L) os[r * CW + c] = 0.0f;
  }
  for (uint r = lid; r < R; r += L) {
    run_max[r] = -INFINITY;
    run_sum[r] = 0.0f;
  }
  // Rows are query-major, so the tile's last row sees the most keys.
  const ulong end = visible_keys((row0 + n - 1) / group_heads, kv_len, causal, q_offset);
  const uint quads = (n + RT - 1) / RT, chunks = (cw + VW - 1) / VW;
  const uint16 lanes = (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

  for (ulong j0 = 0; j0 < end; j0 += B) {
    const uint jn = (uint)min((ulong)B, end - j0);
    barrier(CLK_LOCAL_MEM_FENCE);  // staging done, or the previous block's os and ps use done
    for (uint u = lid; u < jn * quads; u += L) {
      const uint j = u % jn, r0 = u / jn * RT;
      const ulong k_at = (j0 + j) * k_ts + g * k_hs;
      switch (k_dt) {
        case DT_F16: score_rows(k, k_at, DT_F16, qs, D, r0, scale, ps, B, j); break;
        case DT_BF16: score_rows(k, k_at, DT_BF16, qs, D, r0, scale, ps, B, j); break;
        default: score_rows(k, k_at, DT_F32, qs, D, r0, scale, ps, B, j); break;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    // Online softmax, one work-item per row: p = exp(s - m_new) on the row's visible keys, 0 past
    // them (and on the padding rows of a partial tile); os is rescaled by alpha = exp(m_old - m_new).
    // VW keys at a time (B is a multiple of VW; entries past jn are masked like invisible keys).
    for (uint r = lid; r < R; r += L) {
      const ulong t = (row0 + r) / group_heads;
      const ulong vis_end = r < n ? visible_keys(t, kv_len, causal, q_offset) : 0;
      const uint vis = vis_end > j0 ? (uint)min((ulong)jn, vis_end - j0) : 0;
      local float* pr = ps + r * B;
      float16 mx = -INFINITY;
      for (uint j = 0; j < jn; j += VW) mx = select(mx, fmax(mx, vload16(0, pr + j)), j + lanes < vis);
      const float m_old = run_max[r], m_new = fmax(m_old, hmax16(mx));
      float16 sum = 0.0f;
      for (uint j = 0; j < jn; j += VW) {
        const float16 p = select((float16)0.0f, exp(vload16(0, pr + j) - m_new), j + lanes < vis);
        vstore16(p, 0, pr + j);
        sum += p;
      }
      float a = 1.0f;
      if (m_new != -INFINITY) {  // else nothing visible yet: this block adds nothing (p is 0)
        a = m_old == -INFINITY ? 0.0f : exp(m_old - m_new);
        run_sum[r] = run_sum[r] * a + hsum16(sum);
        run_max[r] = m_new;
      }
      alpha[r] = a;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint u = lid; u < chunks * quads; u += L) {
      const uint c = u % chunks * VW, r0 = u / chunks * RT;
      const ulong v_at = j0 * v_ts + g * v_hs + col0 + c;
      if (c + VW <= cw) {
        switch (v_dt) {
          case DT_F16: accumulate_rows(v, v_at, v_ts, DT_F16, jn, ps, B, alpha, r0, os, CW, c); break;
          case DT_BF16: accumulate_rows(v, v_at, v_ts, DT_BF16, jn, ps, B, alpha, r0, os, CW, c); break;
          default: accumulate_rows(v, v_at, v_ts, DT_F32, jn, ps, B, alpha, r0, os, CW, c); break;
        }
      } else {  // the last columns, fewer than VW
        for (uint r = r0; r < r0 + RT; ++r)
          for (uint cc = c; cc < cw; ++cc) {
            float acc = alpha[r] * os[r * CW + cc];
            for (uint j = 0; j < jn; ++j) acc = fma(ps[r * B + j], load_elem(v, v_at + j * v_ts + cc - c, v_dt), acc);
            os[r * CW + cc] = acc;
          }
      }
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  for (uint r = 0; r < n; ++r) {
    const ulong t = (row0 + r) / group_heads, h = g * group_heads + (row0 + r) % group_heads;
    const float inv = run_sum[r] > 0.0f ? 1.0f / run_sum[r] : 0.0f;
    for (uint c = lid; c < cw; c += L) store_elem(out, t * o_ts + h * o_hs + col0 + c, o_dt, os[r * CW + c] * inv);
  }
}
