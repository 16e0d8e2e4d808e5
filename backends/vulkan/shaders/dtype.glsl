// Element types as dshal_dtype numbers, and the f32 conversions of hal's host/dtype.hpp, bit for bit:
// f16 and bf16 round to nearest even, NaN stays NaN. Done in integer arithmetic so no driver's
// rounding mode or denormal handling can change a result. 16-bit elements live in the low (even
// address) or high half of a little-endian uint word.
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

uint encode16(float v, uint dt) { return dt == DT_BF16 ? f32_to_bf16(v) : f32_to_f16(v); }

// Element idx of the array at byte offset off of a uint[] buffer.
#define ELEM_ADDR(off, dt, idx) ((off) + (idx) * elem_bytes(dt))
#define LOAD(words, off, dt, idx) decode(words[ELEM_ADDR(off, dt, idx) >> 2], ELEM_ADDR(off, dt, idx), dt)

// Stores v at element idx of C (words). A 16-bit element shares its word with a neighbour another
// invocation (or the row padding) owns: clear and set only our half, atomically.
#define STORE_C(words, off, dt, idx, v)                          \
  {                                                              \
    const uint addr_ = ELEM_ADDR(off, dt, idx);                  \
    if (dt == DT_F32) {                                          \
      words[addr_ >> 2] = floatBitsToUint(v);                    \
    } else {                                                     \
      const uint sh_ = (addr_ & 2u) * 8u;                        \
      atomicAnd(words[addr_ >> 2], ~(0xffffu << sh_));           \
      atomicOr(words[addr_ >> 2], encode16(v, dt) << sh_);       \
    }                                                            \
  }
