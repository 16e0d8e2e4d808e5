// Element types as dshal_dtype numbers; the f32 conversions of hal's host/dtype.hpp, bit for bit
// (f16 and bf16 round to nearest even, NaN stays NaN), in integer arithmetic so no driver's
// rounding mode or denormal handling can change a result; and element loads and stores over the
// operands of bind.glsl. 16-bit elements live in the low (even address) or high half of a
// little-endian uint word.
#define DT_F32 1u
#define DT_F16 2u
#define DT_BF16 3u

uint elem_bytes(uint dt) { return dt == DT_F32 ? 4u : 2u; }

float f16_to_f32(uint h) {
  const uint s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1fu) return uintBitsToFloat(s | 0x7f800000u | (m << 13));
  if (e != 0u) return uintBitsToFloat(s | ((e + 112u) << 23) | (m << 13));
  const float v = float(m) * 5.9604644775390625e-8;  // subnormal: m * 2^-24, a normal f32
  return s != 0u ? -v : v;
}

uint f32_to_f16(float f) {
  const uint u = floatBitsToUint(f), s = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return s | 0x7e00u | ((a >> 13) & 0x3ffu);  // NaN, quieted
  if (a >= 0x477ff000u) return s | 0x7c00u;                          // >= 65520 rounds to inf
  if (a >= 0x38800000u) {                                           // normal f16
    uint r = a - 0x38000000u;
    r += 0x0fffu + ((r >> 13) & 1u);
    return s | (r >> 13);
  }
  if (a < 0x33000000u) return s;  // below 2^-25 (the tie at 2^-25 goes to even 0 too)
  const uint m = (a & 0x7fffffu) | 0x800000u, shift = 126u - (a >> 23);
  uint q = m >> shift;
  const uint rem = m & ((1u << shift) - 1u), half_ulp = 1u << (shift - 1u);
  if (rem > half_ulp || (rem == half_ulp && (q & 1u) != 0u)) q += 1u;
  return s | q;
}

uint f32_to_bf16(float f) {
  uint u = floatBitsToUint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return ((u >> 16) | 0x40u) & 0xffffu;
  u += 0x7fffu + ((u >> 16) & 1u);
  return u >> 16;
}

// The element at byte address addr, given the uint word holding it.
float decode(uint word, uint addr, uint dt) {
  if (dt == DT_F32) return uintBitsToFloat(word);
  const uint h = (word >> ((addr & 2u) * 8u)) & 0xffffu;
  return dt == DT_BF16 ? uintBitsToFloat(h << 16) : f16_to_f32(h);
}

float decode16(uint h, uint dt) { return dt == DT_BF16 ? uintBitsToFloat(h << 16) : f16_to_f32(h); }
uint encode16(float v, uint dt) { return dt == DT_BF16 ? f32_to_bf16(v) : f32_to_f16(v); }

// Byte address of element idx of an array at byte offset off.
#define ELEM_ADDR(off, dt, idx) ((off) + (idx) * elem_bytes(dt))

// Element idx (f32, f16 or bf16, as f32) of the array at byte offset off of operand b (bind.glsl).
#if DSHAL_SMALL_STORAGE
#define LOAD(b, off, dt, idx)                                                        \
  ((dt) == DT_F32 ? uintBitsToFloat(WORDS(b)[ELEM_ADDR(off, dt, idx) >> 2])          \
                  : decode16(uint(HALVES(b)[ELEM_ADDR(off, dt, idx) >> 1]), dt))
#else
#define LOAD(b, off, dt, idx) decode(WORDS(b)[ELEM_ADDR(off, dt, idx) >> 2], ELEM_ADDR(off, dt, idx), dt)
#endif

// Stores v at element idx of the array at byte offset off of operand b. Without 16-bit storage a
// 16-bit element shares its word with a neighbour another invocation (or the row padding) owns:
// clear and set only our half, atomically.
#if DSHAL_SMALL_STORAGE
#define STORE(b, off, dt, idx, v)                                               \
  {                                                                             \
    const uint addr_ = ELEM_ADDR(off, dt, idx);                                 \
    if ((dt) == DT_F32)                                                         \
      WORDS(b)[addr_ >> 2] = floatBitsToUint(v);                                \
    else                                                                        \
      HALVES(b)[addr_ >> 1] = uint16_t(encode16(v, dt));                        \
  }
#else
#define STORE(b, off, dt, idx, v)                                               \
  {                                                                             \
    const uint addr_ = ELEM_ADDR(off, dt, idx);                                 \
    if ((dt) == DT_F32) {                                                       \
      WORDS(b)[addr_ >> 2] = floatBitsToUint(v);                                \
    } else {                                                                    \
      const uint sh_ = (addr_ & 2u) * 8u;                                       \
      atomicAnd(WORDS(b)[addr_ >> 2], ~(0xffffu << sh_));                       \
      atomicOr(WORDS(b)[addr_ >> 2], encode16(v, dt) << sh_);                   \
    }                                                                           \
  }
#endif

// Byte idx of the array at byte offset off of operand b (fp8, int4 pairs, u8).
#if DSHAL_SMALL_STORAGE
#define LOAD_BYTE(b, off, idx) uint(BYTES(b)[(off) + (idx)])
#else
#define LOAD_BYTE(b, off, idx) ((WORDS(b)[((off) + (idx)) >> 2] >> ((((off) + (idx)) & 3u) * 8u)) & 0xffu)
#endif
