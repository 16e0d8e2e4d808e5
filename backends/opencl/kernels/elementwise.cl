// Elementwise add / mul / scale / cast and the embedding gather: one work-item per element.
#include "dtype.h"
#include "raw_copy.h"
#include "status.h"

#define OP_ADD 0
#define OP_MUL 1
#define OP_SCALE 2
#define OP_CAST 3

// Element i of out from element i of a (and b): each work-item reads before it writes its own
// element, so out may alias a or b. A cast to the same type copies bits (NaN payloads kept).
kernel void elementwise(global const uchar* a, ulong a_off, int a_dt, global const uchar* b, ulong b_off, int b_dt,
                        global uchar* out, ulong out_off, int out_dt, int op, float alpha, ulong n) {
  const ulong i = get_global_id(0);
  if (i >= n) return;
  if (op == OP_CAST && a_dt == out_dt) {
    copy_elem(out + out_off, i, a + a_off, i, a_dt);
    return;
  }
  float v = load_elem(a + a_off, i, a_dt);
  if (op == OP_ADD) v += load_elem(b + b_off, i, b_dt);
  else if (op == OP_MUL) v *= load_elem(b + b_off, i, b_dt);
  else if (op == OP_SCALE) v *= alpha;
  store_elem(out + out_off, i, out_dt, v);
}

// out[t] = table[ids[t]], one work-item per element (h, t). An id outside [0, vocab) is reported
// through the stream's status words (once per token, by its first work-item) and its row is left
// as it was.
kernel void embedding(global const uchar* table, ulong table_off, int table_dt, ulong ldt,
                      global const uchar* ids, ulong ids_off,
                      global uchar* out, ulong out_off, int out_dt, ulong ldo,
                      ulong hidden, ulong tokens, ulong vocab, global int* status) {
  const ulong h = get_global_id(0), t = get_global_id(1);
  if (h >= hidden || t >= tokens) return;
  const int id = ((global const int*)(ids + ids_off))[t];
  if (id < 0 || (ulong)id >= vocab) {
    if (h == 0) report_status(status, DSHAL_STATUS_EMBEDDING_ID, (int)t, id, (int)vocab);
    return;
  }
  const ulong src = (ulong)id * ldt + h, dst = t * ldo + h;
  if (table_dt == out_dt)
    copy_elem(out + out_off, dst, table + table_off, src, table_dt);
  else
    store_elem(out + out_off, dst, out_dt, load_elem(table + table_off, src, table_dt));
}
