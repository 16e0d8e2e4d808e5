// Copies element si of operand src (array at byte offset soff) to element di of operand dst (at
// doff) bit for bit (NaN payloads kept), for F32, F16 and BF16: gathers and same-type casts move
// bits, they never round. Without 16-bit storage the destination half is set atomically, as in
// dtype.glsl's STORE (its word's other half belongs to another invocation).
#if DSHAL_SMALL_STORAGE
#define COPY_ELEM(dst, doff, di, src, soff, si, dt)                                            \
  {                                                                                          \
    if ((dt) == DT_F32)                                                                      \
      WORDS(dst)[ELEM_ADDR(doff, dt, di) >> 2] = WORDS(src)[ELEM_ADDR(soff, dt, si) >> 2];   \
    else                                                                                     \
      HALVES(dst)[ELEM_ADDR(doff, dt, di) >> 1] = HALVES(src)[ELEM_ADDR(soff, dt, si) >> 1]; \
  }
#else
#define COPY_ELEM(dst, doff, di, src, soff, si, dt)                                          \
  {                                                                                        \
    const uint da_ = ELEM_ADDR(doff, dt, di), sa_ = ELEM_ADDR(soff, dt, si);               \
    if ((dt) == DT_F32) {                                                                  \
      WORDS(dst)[da_ >> 2] = WORDS(src)[sa_ >> 2];                                         \
    } else {                                                                               \
      const uint h_ = (WORDS(src)[sa_ >> 2] >> ((sa_ & 2u) * 8u)) & 0xffffu;               \
      const uint sh_ = (da_ & 2u) * 8u;                                                    \
      atomicAnd(WORDS(dst)[da_ >> 2], ~(0xffffu << sh_));                                  \
      atomicOr(WORDS(dst)[da_ >> 2], h_ << sh_);                                           \
    }                                                                                      \
  }
#endif
