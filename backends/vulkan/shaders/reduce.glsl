// Workgroup reductions for shaders that give one row to one workgroup. The workgroup width
// (local_size_x_id = 0) is a power of two; every invocation gets the result. The tree has a fixed
// shape, so a row's result does not depend on timing. Call from uniform control flow (barriers).
shared float scratch[gl_WorkGroupSize.x];

float group_sum(float v) {
  const uint lid = gl_LocalInvocationID.x;
  scratch[lid] = v;
  barrier();
  for (uint w = gl_WorkGroupSize.x / 2u; w > 0u; w /= 2u) {
    if (lid < w) scratch[lid] += scratch[lid + w];
    barrier();
  }
  const float r = scratch[0];
  barrier();  // scratch may be reused right away
  return r;
}

// NaN operands are ignored, as by the host kernels' std::max scans and OpenCL's fmax (GLSL max
// leaves NaN undefined).
float max_ignoring_nan(float a, float b) { return a < b || isnan(a) ? b : a; }

float group_max(float v) {
  const uint lid = gl_LocalInvocationID.x;
  scratch[lid] = v;
  barrier();
  for (uint w = gl_WorkGroupSize.x / 2u; w > 0u; w /= 2u) {
    if (lid < w) scratch[lid] = max_ignoring_nan(scratch[lid], scratch[lid + w]);
    barrier();
  }
  const float r = scratch[0];
  barrier();
  return r;
}
