// Copies element si of src to element di of dst bit for bit (NaN payloads kept), for the storage
// types of ops (F32, F16, BF16): gathers and same-type casts move bits, they never round.
inline void copy_elem(global uchar* dst, ulong di, global const uchar* src, ulong si, int dt) {
  if (dt == DT_F32)
    ((global uint*)dst)[di] = ((global const uint*)src)[si];
  else
    ((global ushort*)dst)[di] = ((global const ushort*)src)[si];
}
