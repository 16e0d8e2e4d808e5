#version 450
// moe_permute, first pass: expert_offsets and perm (hal/host/ops/moe_permute.cpp's counting sort).
// Each expert's invocation counts the kept slots of lower experts (its offset) and lists its own
// slots in slot order, so no invocation waits on another; every invocation also counts all kept
// slots to share out the -1 fill of perm past them. topk_ids reads are uniform across invocations.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"

layout(local_size_x = 64) in;
layout(push_constant) uniform Params {
  uvec2 addr[3];  // topk_ids, expert_offsets, perm (with no slots, expert_offsets in all three)
  uint ids_off, offsets_off, perm_off, experts, slots;
} p;

int expert_of(uint s) { return int(WORDS(0)[(p.ids_off >> 2) + s]); }
bool kept(int e) { return e >= 0 && uint(e) < p.experts; }

void main() {
  const uint invocations = gl_NumWorkGroups.x * 64u;
  uint total = 0u;
  for (uint s = 0u; s < p.slots; ++s) total += kept(expert_of(s)) ? 1u : 0u;

  for (uint e = gl_GlobalInvocationID.x; e < p.experts; e += invocations) {
    uint before = 0u, count = 0u;
    for (uint s = 0u; s < p.slots; ++s) {
      const int x = expert_of(s);
      if (kept(x) && uint(x) < e) ++before;
      else if (x == int(e)) ++count;
    }
    WORDS(1)[(p.offsets_off >> 2) + e] = before;
    if (e + 1u == p.experts) WORDS(1)[(p.offsets_off >> 2) + p.experts] = before + count;
    uint row = before;
    for (uint s = 0u; s < p.slots && row < before + count; ++s)
      if (expert_of(s) == int(e)) WORDS(2)[(p.perm_off >> 2) + row++] = s;
  }
  for (uint row = total + gl_GlobalInvocationID.x; row < p.slots; row += invocations)
    WORDS(2)[(p.perm_off >> 2) + row] = 0xffffffffu;
}
