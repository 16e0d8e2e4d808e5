// Byte-level helpers for transfers the OpenCL API cannot express.

// Repeats a 1, 2 or 4 byte pattern over bytes starting at an offset the pattern size does not
// divide (clEnqueueFillBuffer needs it aligned).
kernel void fill_pattern(global uchar* dst, ulong dst_off, ulong bytes, uint pattern, uint pattern_bytes) {
  const ulong i = get_global_id(0);
  if (i >= bytes) return;
  dst[dst_off + i] = (uchar)(pattern >> (8 * (uint)(i % pattern_bytes)));
}
