#version 450
// gemm_f32_nt.comp (see gemm_f32_nt.glsl) with A and B read through uniform texel buffers
// (R32G32B32A32_SFLOAT views, one vec4 a texel) instead of storage buffers. Why: on lavapipe 22.x
// every storage-buffer load is a per-lane scalar loop with a bounds check per component, while
// texelFetch goes through llvmpipe's texture path, which gathers all lanes at once (vpgatherdd).
// Only the binding variants are used (vulkan_gemm.cpp): a device address has no texel view.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bind.glsl"
#include "dtype.glsl"

layout(binding = 0) uniform samplerBuffer a_texels;
layout(binding = 1) uniform samplerBuffer b_texels;
#define LOAD_A4(i) texelFetch(a_texels, int(i))
#define LOAD_B4(i) texelFetch(b_texels, int(i))
#include "gemm_f32_nt.glsl"
