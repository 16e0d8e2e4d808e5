#version 450
// f32 C_b = alpha * A_b * B_b^T + beta * C_b (the Linear layout: A M x K and B N x K, both
// contiguous along K, rows 16-byte aligned, K % 4 == 0; C of any type), one batch per workgroup
// layer (z). Register tiled for lavapipe 22.x, where every storage-buffer load is a loop over the
// SIMD lanes costing far more than the FMAs it feeds (uniform addresses included): the only lever
// is FMAs per load. An invocation owns C columns (gl_LocalInvocationID.x + W c) of R rows and
// reads both operands as vec4 along K, so each step loads R + C vec4 and does 4 R C FMAs.
// Small M (decode) runs with R = M: one workgroup row covers every row and B streams once.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bind.glsl"
#include "dtype.glsl"

#define LOAD_A4(i) VEC4S(0)[i]
#define LOAD_B4(i) VEC4S(1)[i]
#include "gemm_f32_nt.glsl"
