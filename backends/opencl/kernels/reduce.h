// Work-group reductions for kernels that give one row to one work-group. The local size must be a
// power of two; every work-item gets the result. The tree has a fixed shape, so a row's result does
// not depend on timing.
inline float group_sum(local float* scratch, float v) {
  const uint lid = get_local_id(0);
  scratch[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint w = get_local_size(0) / 2; w > 0; w /= 2) {
    if (lid < w) scratch[lid] += scratch[lid + w];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float r = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);  // scratch may be reused right away
  return r;
}

// fmax ignores NaN operands, as the host kernels' std::max scans do.
inline float group_max(local float* scratch, float v) {
  const uint lid = get_local_id(0);
  scratch[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint w = get_local_size(0) / 2; w > 0; w /= 2) {
    if (lid < w) scratch[lid] = fmax(scratch[lid], scratch[lid + w]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float r = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}
