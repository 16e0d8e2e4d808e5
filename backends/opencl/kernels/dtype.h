// Element types as dshal_dtype numbers, and conversions to and from f32 that match hal's
// host/dtype.hpp bit for bit (bf16 and f16 round to nearest even; NaN stays NaN).
#define DT_F32 1
#define DT_F16 2
#define DT_BF16 3
#define DT_FP8 4
#define DT_INT4 5
#define DT_I32 6
#define DT_U8 7

inline float bf16_to_f32(ushort h) { return as_float((uint)h << 16); }

inline ushort f32_to_bf16(float f) {
  uint u = as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (ushort)(u >> 16);
}

// OCP fp8 e4m3fn: bias 7, no infinities, S.1111.111 is NaN.
inline float fp8_to_f32(uchar v) {
  const uint exp = (v >> 3) & 0xfu, man = v & 0x7u;
  float mag;
  if (exp == 0xfu && man == 0x7u)
    mag = NAN;
  else if (exp == 0u)
    mag = ldexp((float)man, -9);
  else
    mag = ldexp(1.0f + (float)man / 8.0f, (int)exp - 7);
  return (v & 0x80u) ? -mag : mag;
}

// Signed nibble i of a packed INT4 array (even index in the low nibble).
inline int int4_at(global const uchar* p, ulong i) {
  const int nib = (p[i / 2] >> ((i & 1) * 4)) & 0xf;
  return nib >= 8 ? nib - 16 : nib;
}

// Element i of a float-typed (F32, F16, BF16, FP8) or integer (I32, U8, INT4) array, as f32.
inline float load_elem(global const uchar* base, ulong i, int dt) {
  switch (dt) {
    case DT_F32: return ((global const float*)base)[i];
    case DT_F16: return vload_half(i, (global const half*)base);
    case DT_BF16: return bf16_to_f32(((global const ushort*)base)[i]);
    case DT_FP8: return fp8_to_f32(base[i]);
    case DT_INT4: return (float)int4_at(base, i);
    case DT_I32: return (float)((global const int*)base)[i];
    case DT_U8: return (float)base[i];
    default: return NAN;
  }
}

// Stores v at element i of an F32, F16 or BF16 array.
inline void store_elem(global uchar* base, ulong i, int dt, float v) {
  switch (dt) {
    case DT_F32: ((global float*)base)[i] = v; break;
    case DT_F16: vstore_half_rte(v, i, (global half*)base); break;
    case DT_BF16: ((global ushort*)base)[i] = f32_to_bf16(v); break;
    default: break;
  }
}
