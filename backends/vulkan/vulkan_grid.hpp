// Shared by the row and element ops (vulkan_norm_act.cpp, vulkan_elementwise.cpp): binding a
// dshal_tensor, workgroup widths, 32-bit strides, and dispatches over a flat workgroup count
// folded past the per-dimension limit (shaders/grid.glsl).
#pragma once

#include <algorithm>
#include <string>

#include "vulkan.hpp"

namespace dshal::vulkan {

// The operand holding rows x cols elements of t (rows ld apart).
inline Bound bind_tensor(Stream* s, const dshal_tensor& t, uint64_t rows, uint64_t cols) {
  return bind(s, t.buffer, t.offset, ((rows - 1) * t.ld + cols) * elem_bytes(t.dtype));
}

// The power of two covering width, at most cap: the invocations of a workgroup that walks a row
// (shaders/reduce.glsl's trees need a power of two).
inline uint32_t group_width(uint64_t width, uint32_t cap = 256) {
  uint32_t g = 1;
  while (g < cap && g < width) g *= 2;
  return g;
}

// A stride as the shaders take it (uint): 0 when only one row is addressed (any value is then
// valid), else it fits, since the operand it strides through does (dispatch_flat checks).
inline uint32_t stride32(uint64_t stride, uint64_t count) { return count > 1 ? uint32_t(stride) : 0; }

// Records `shader` over `groups` workgroups of `width` invocations (specialization constant 0),
// folded into x * y. The shaders address operands with 32-bit byte offsets: an operand past
// 4 GiB is UNSUPPORTED. With s->m held.
inline dshal_status dispatch_flat(Stream* s, const char* shader, const std::vector<Binding>& operands, const void* push,
                                  uint32_t push_bytes, uint64_t groups, uint32_t width) {
  for (const Binding& b : operands)
    if (b.range > UINT32_MAX)
      return fail(DSHAL_ERROR_UNSUPPORTED, std::string(shader) + ": an operand spans " + std::to_string(b.range) +
                                               " bytes, past the 4 GiB its shader can address");
  const VkPhysicalDeviceLimits& lim = s->device->info->props.limits;
  const uint64_t gx = std::min<uint64_t>(groups, lim.maxComputeWorkGroupCount[0]), gy = (groups + gx - 1) / gx;
  if (gy > lim.maxComputeWorkGroupCount[1])
    return fail(DSHAL_ERROR_UNSUPPORTED, std::string(shader) + ": " + std::to_string(groups) + " workgroups are too many");
  return dispatch(s, {shader, operands, push, push_bytes, {uint32_t(gx), uint32_t(gy), 1}, {width}});
}

}  // namespace dshal::vulkan
