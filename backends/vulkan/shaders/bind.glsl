// How a shader reaches its operands. Every shader is compiled in four variants (CMakeLists.txt):
//
//   DSHAL_BDA = 0  operand i is the storage buffer at binding i: the fast path on every device, used
//                  while each operand spans at most maxStorageBufferRange (128 MiB on lavapipe).
//   DSHAL_BDA = 1  operand i is the buffer device address p.addr[i]: used when an operand is larger
//                  (a 1 GiB weight), on devices with bufferDeviceAddress.
//   DSHAL_SMALL_STORAGE = 1  16- and 8-bit elements are loaded and stored directly
//                  (storageBuffer16BitAccess + storageBuffer8BitAccess); = 0 they are carved out of
//                  uint words, and 16-bit stores go through atomics on the word they share.
//
// The host writes p.addr in both variants (zeros for bindings), so the push constant layout is
// the same: a shader's push block starts with `uvec2 addr[N]`, its own parameters follow.
// Operands are addressed in bytes from their binding (or address), which the host aligned; a
// shader reads element i of operand b at byte offset off as LOAD(b, off, dtype, i) (dtype.glsl).
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require
#if DSHAL_SMALL_STORAGE
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#endif

#if DSHAL_BDA
layout(buffer_reference, std430, buffer_reference_align = 4) buffer WordRef { uint w[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer Vec4Ref { vec4 v[]; };
#define WORDS(b) WordRef(p.addr[b]).w
#define VEC4S(b) Vec4Ref(p.addr[b]).v
#if DSHAL_SMALL_STORAGE
layout(buffer_reference, std430, buffer_reference_align = 2) buffer HalfRef { uint16_t h[]; };
layout(buffer_reference, std430, buffer_reference_align = 1) buffer ByteRef { uint8_t x[]; };
#define HALVES(b) HalfRef(p.addr[b]).h
#define BYTES(b) ByteRef(p.addr[b]).x
#endif

#else
// Up to 8 operands; blocks a shader does not use are dropped by the compiler. The views of one
// binding alias the same buffer.
#define DSHAL_DECLARE_BINDING(i)                                               \
  layout(std430, binding = i) buffer Words##i { uint w[]; } words##i;          \
  layout(std430, binding = i) buffer Vec4s##i { vec4 v[]; } vec4s##i;
DSHAL_DECLARE_BINDING(0)
DSHAL_DECLARE_BINDING(1)
DSHAL_DECLARE_BINDING(2)
DSHAL_DECLARE_BINDING(3)
DSHAL_DECLARE_BINDING(4)
DSHAL_DECLARE_BINDING(5)
DSHAL_DECLARE_BINDING(6)
DSHAL_DECLARE_BINDING(7)
// Two levels, so that an argument that is itself a macro (#define A_OP 0) expands before pasting.
#define WORDS(b) DSHAL_WORDS_(b)
#define VEC4S(b) DSHAL_VEC4S_(b)
#define DSHAL_WORDS_(b) words##b.w
#define DSHAL_VEC4S_(b) vec4s##b.v
#if DSHAL_SMALL_STORAGE
#define DSHAL_DECLARE_SMALL_BINDING(i)                                          \
  layout(std430, binding = i) buffer Halves##i { uint16_t h[]; } halves##i;     \
  layout(std430, binding = i) buffer Bytes##i { uint8_t x[]; } bytes##i;
DSHAL_DECLARE_SMALL_BINDING(0)
DSHAL_DECLARE_SMALL_BINDING(1)
DSHAL_DECLARE_SMALL_BINDING(2)
DSHAL_DECLARE_SMALL_BINDING(3)
DSHAL_DECLARE_SMALL_BINDING(4)
DSHAL_DECLARE_SMALL_BINDING(5)
DSHAL_DECLARE_SMALL_BINDING(6)
DSHAL_DECLARE_SMALL_BINDING(7)
#define HALVES(b) DSHAL_HALVES_(b)
#define BYTES(b) DSHAL_BYTES_(b)
#define DSHAL_HALVES_(b) halves##b.h
#define DSHAL_BYTES_(b) bytes##b.x
#endif
#endif
