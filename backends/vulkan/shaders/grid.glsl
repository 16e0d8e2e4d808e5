// The flat index of this workgroup: the host folds a group count past the per-dimension limit
// (65535 on many devices) into x * y (vulkan_grid.hpp: dispatch_flat), so groups past the count
// asked for may run and must do nothing.
uint flat_group() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
