// Row norms and activations: rms_norm and softmax give each row to one work-group (strided loads,
// a local-memory tree reduction); silu_mul and rope are one work-item per element or pair.
#include "dtype.h"
#include "reduce.h"
#include "status.h"

// The host kernels round every product and sum on its own; so do these (no implicit fma).
#pragma OPENCL FP_CONTRACT OFF

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, one work-group per row r. Each work-item
// writes only the elements it read, after the reduction's barriers: out may alias x.
kernel void rms_norm(global const uchar* x, ulong x_off, int x_dt, ulong ldx,
                     global const uchar* w, ulong w_off, int w_dt,
                     global uchar* out, ulong out_off, int out_dt, ulong ldo,
                     ulong cols, float eps, local float* scratch) {
  const ulong r = get_group_id(0);
  const uint lid = get_local_id(0), n = get_local_size(0);
  global const uchar* xb = x + x_off;
  float ss = 0.0f;
  for (ulong c = lid; c < cols; c += n) {
    const float v = load_elem(xb, r * ldx + c, x_dt);
    ss += v * v;
  }
  const float mean = group_sum(scratch, ss) / (float)cols;
  const float inv = 1.0f / sqrt(mean + eps);
  for (ulong c = lid; c < cols; c += n) {
    const float v = load_elem(xb, r * ldx + c, x_dt) * inv * load_elem(w + w_off, c, w_dt);
    store_elem(out + out_off, r * ldo + c, out_dt, v);
  }
}

// out[r] = softmax(scale * x[r]) over the visible columns, 0 past them; one work-group per row.
// Row r is query r % row_period: with causal set, columns past query + causal_offset are masked.
// Each work-item writes only its own columns, after the reductions: out may alias x.
kernel void softmax(global const uchar* x, ulong x_off, int x_dt, ulong ldx,
                    global uchar* out, ulong out_off, int out_dt, ulong ldo,
                    ulong cols, float scale, int causal, ulong row_period, ulong causal_offset,
                    local float* scratch) {
  const ulong r = get_group_id(0);
  const uint lid = get_local_id(0), n = get_local_size(0);
  global const uchar* xb = x + x_off;
  const ulong visible = !causal || causal_offset >= cols ? cols : min(cols, r % row_period + causal_offset + 1);
  float m = -INFINITY;
  for (ulong c = lid; c < visible; c += n) m = fmax(m, scale * load_elem(xb, r * ldx + c, x_dt));
  m = group_max(scratch, m);
  float sum = 0.0f;
  for (ulong c = lid; c < visible; c += n) sum += exp(scale * load_elem(xb, r * ldx + c, x_dt) - m);
  const float inv = 1.0f / group_sum(scratch, sum);
  for (ulong c = lid; c < cols; c += n) {
    const float p = c < visible ? exp(scale * load_elem(xb, r * ldx + c, x_dt) - m) * inv : 0.0f;
    store_elem(out + out_off, r * ldo + c, out_dt, p);
  }
}

// out = silu(gate) * up, one work-item per element (col, row); out may alias gate or up.
kernel void silu_mul(global const uchar* gate, ulong g_off, int g_dt, ulong ldg,
                     global const uchar* up, ulong u_off, int u_dt, ulong ldu,
                     global uchar* out, ulong out_off, int out_dt, ulong ldo, ulong cols, ulong rows) {
  const ulong c = get_global_id(0), r = get_global_id(1);
  if (c >= cols || r >= rows) return;
  const float g = load_elem(gate + g_off, r * ldg + c, g_dt);
  const float u = load_elem(up + u_off, r * ldu + c, u_dt);
  store_elem(out + out_off, r * ldo + c, out_dt, g / (1.0f + exp(-g)) * u);
}

// Rotates interleaved pair i of head h of token t in place, one work-item per (i, h, t).
kernel void rope(global uchar* x, ulong x_off, int dt, ulong token_stride, ulong head_stride,
                 global const uchar* positions, ulong pos_off, global const uchar* cos_table, ulong cos_off,
                 global const uchar* sin_table, ulong sin_off, ulong half_dim, ulong heads, ulong tokens,
                 ulong max_position, global int* status) {
  const ulong i = get_global_id(0), h = get_global_id(1), t = get_global_id(2);
  if (i >= half_dim || h >= heads || t >= tokens) return;
  const int p = ((global const int*)(positions + pos_off))[t];
  // Positions live on the device, where hal cannot check them: a position outside the tables is
  // reported, and its token left as it is rather than rotated with memory past them.
  if (p < 0 || (ulong)p >= max_position) {
    report_status(status, DSHAL_STATUS_ROPE_POSITION, (int)t, p, (int)max_position);
    return;
  }
  const float c = ((global const float*)(cos_table + cos_off))[(ulong)p * half_dim + i];
  const float s = ((global const float*)(sin_table + sin_off))[(ulong)p * half_dim + i];
  global uchar* xb = x + x_off;
  const ulong e = t * token_stride + h * head_stride + 2 * i;
  const float x0 = load_elem(xb, e, dt), x1 = load_elem(xb, e + 1, dt);
  store_elem(xb, e, dt, x0 * c - x1 * s);
  store_elem(xb, e + 1, dt, x1 * c + x0 * s);
}
