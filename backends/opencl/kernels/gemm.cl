// GEMM: C_b = alpha * op(A_b) * op(B_b) + beta * C_b, any mix of f32 / f16 / bf16, f32 accumulate.
#include "dtype.h"

// One work-item per element of C: (n, m, batch).
kernel void gemm_reference(global const uchar* a, ulong a_off, int a_dt, ulong lda, ulong a_bs, int trans_a,
                           global const uchar* b, ulong b_off, int b_dt, ulong ldb, ulong b_bs, int trans_b,
                           global uchar* c, ulong c_off, int c_dt, ulong ldc, ulong c_bs,
                           ulong m, ulong n, ulong k, float alpha, float beta) {
  const ulong j = get_global_id(0), i = get_global_id(1), bt = get_global_id(2);
  if (i >= m || j >= n) return;
  float acc = 0.0f;
  if (alpha != 0.0f) {
    for (ulong p = 0; p < k; ++p) {
      const float x = load_elem(a + a_off, bt * a_bs + (trans_a ? p * lda + i : i * lda + p), a_dt);
      const float y = load_elem(b + b_off, bt * b_bs + (trans_b ? j * ldb + p : p * ldb + j), b_dt);
      acc = fma(x, y, acc);
    }
    acc *= alpha;
  }
  const ulong ci = bt * c_bs + i * ldc + j;
  if (beta != 0.0f) acc = fma(beta, load_elem(c + c_off, ci, c_dt), acc);
  store_elem(c + c_off, ci, c_dt, acc);
}
