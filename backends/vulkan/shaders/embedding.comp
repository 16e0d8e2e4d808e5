#version 450
// out[t] = table[ids[t]], one workgroup per token t whose invocations walk the hidden elements.
// An id outside [0, vocab) is reported through the stream's status words and its row of out left
// as it was. Same-type rows are copied bit for bit.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"
#include "grid.glsl"
#include "raw_copy.glsl"
#include "status.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Params {
  uvec2 addr[4];  // table, ids (I32), out, status
  uint t_off, t_dt, ldt;
  uint ids_off;
  uint o_off, o_dt, ldo;
  uint hidden, tokens, vocab;
} p;

void main() {
  const uint t = flat_group(), lid = gl_LocalInvocationID.x;
  if (t >= p.tokens) return;
  const int id = int(WORDS(1)[(p.ids_off + 4u * t) >> 2]);
  if (id < 0 || uint(id) >= p.vocab) {
    if (lid == 0u) REPORT_STATUS(3, DSHAL_STATUS_EMBEDDING_ID, t, id, p.vocab);
    return;
  }
  for (uint h = lid; h < p.hidden; h += gl_WorkGroupSize.x) {
    const uint src = uint(id) * p.ldt + h, dst = t * p.ldo + h;
    if (p.t_dt == p.o_dt) {
      COPY_ELEM(2, p.o_off, dst, 0, p.t_off, src, p.t_dt);
    } else {
      STORE(2, p.o_off, p.o_dt, dst, LOAD(0, p.t_off, p.t_dt, src));
    }
  }
}
