/* dshal adapter ABI: the one C table every device backend implements, built-in or plugin.
 *
 * A vendor brings up a device by filling this table. Everything else — argument validation, host
 * fallbacks for optional ops, device ids, the conformance suite, the DeepSeek executor — is dshal's.
 *
 * Conventions for every function below, unless its comment says otherwise:
 *   - Returns DSHAL_OK (0) or an error status; after an error, last_error() on the same thread gives
 *     a message naming the argument, the value and the limit.
 *   - No C++ exception, longjmp or abort crosses this boundary. A backend catches its own errors and
 *     maps vendor codes to dshal_status.
 *   - Out-parameters are set to NULL / 0 on entry, so a failed call leaves nothing to release.
 *   - A handle returned by a create/alloc/open function is owned by the caller and released exactly
 *     once by the matching destroy/free/close function.
 *   - Thread-safety: every function may be called from any thread concurrently. Work enqueued on one
 *     stream from several threads runs in some serial order.
 *   - hal/ validates arguments before a call reaches the adapter (handles, sizes, offsets + lengths
 *     inside buffers, leading dimensions, dtypes, counts): adapters may trust them.
 *   - Matrices are row-major; sizes in elements unless the name ends in _bytes; offsets into buffers
 *     are in bytes.
 *   - "Async" functions enqueue work on a stream and return; errors in the queued work are reported
 *     by the next stream_synchronize / event_query / event_synchronize that covers it — never lost.
 */
#ifndef DSHAL_ADAPTER_H
#define DSHAL_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DSHAL_ABI_VERSION 1u

#if defined(_WIN32)
#define DSHAL_EXPORT __declspec(dllexport)
#else
#define DSHAL_EXPORT __attribute__((visibility("default")))
#endif

/* Every enum ends in *_MIN_ENUM / *_MAX_ENUM sentinels so it spans all of int32: any value a caller
 * writes into a descriptor is representable in C++ too (hal rejects the invalid ones). */

/* ------------------------------------------------------------------------------------------------
 * Status codes. Stable numbers: they appear in reports and in the CLI's documentation.
 */
typedef enum dshal_status {
  DSHAL_OK = 0,
  DSHAL_ERROR_INVALID_ARGUMENT = 1, /* a handle, size, offset, dtype or count is wrong */
  DSHAL_ERROR_OUT_OF_MEMORY = 2,    /* an allocation could not be satisfied */
  DSHAL_ERROR_UNSUPPORTED = 3,      /* the device does not offer this op / dtype / shape */
  DSHAL_ERROR_NOT_READY = 4,        /* event_query: the work is still running (not a failure) */
  DSHAL_ERROR_DEVICE = 5,           /* the device or its driver failed while running work */
  DSHAL_ERROR_UNAVAILABLE = 6,      /* the backend has no usable device (no driver, no GPU ...) */
  DSHAL_ERROR_ABI_MISMATCH = 7,     /* negotiate found no common ABI version */
  DSHAL_ERROR_NOT_FOUND = 8,        /* a device id names no device */
  DSHAL_ERROR_INTERNAL = 9,         /* a bug in dshal or the adapter */
  DSHAL_STATUS_MIN_ENUM = -0x7fffffff - 1,
  DSHAL_STATUS_MAX_ENUM = 0x7fffffff
} dshal_status;

/* Element types. DSHAL_DTYPE_BIT(t) builds the masks in dshal_device_properties. */
typedef enum dshal_dtype {
  DSHAL_DTYPE_INVALID = 0,
  DSHAL_DTYPE_F32 = 1,
  DSHAL_DTYPE_F16 = 2,
  DSHAL_DTYPE_BF16 = 3,
  DSHAL_DTYPE_FP8_E4M3 = 4, /* OCP e4m3fn: no infinities, 0x7f/0xff are NaN, max 448 */
  DSHAL_DTYPE_INT4 = 5,     /* signed two's complement [-8, 7], two per byte, even index in low nibble */
  DSHAL_DTYPE_I32 = 6,
  DSHAL_DTYPE_U8 = 7,
  DSHAL_DTYPE_MIN_ENUM = -0x7fffffff - 1,
  DSHAL_DTYPE_MAX_ENUM = 0x7fffffff
} dshal_dtype;
#define DSHAL_DTYPE_BIT(t) (1u << (uint32_t)(t))

/* ------------------------------------------------------------------------------------------------
 * Opaque handles. Each adapter gives them its own meaning; they are never dereferenced outside it.
 */
typedef struct dshal_device_s* dshal_device;
typedef struct dshal_buffer_s* dshal_buffer;
typedef struct dshal_stream_s* dshal_stream;
typedef struct dshal_event_s* dshal_event;
typedef struct dshal_comm_s* dshal_comm;

/* Device properties: the adapter fills every field it knows; struct_size is set by the caller. */
#define DSHAL_DEVICE_HOST_SHARED_MEMORY 0x1u /* device memory is host memory: import_host_memory works */

typedef struct dshal_device_properties {
  uint32_t struct_size;
  char name[128];
  char vendor[64];
  char driver_version[64];
  uint64_t memory_bytes;     /* total device memory */
  uint64_t max_alloc_bytes;  /* largest single buffer_alloc */
  uint64_t max_buffer_range; /* largest range one kernel can address in a buffer */
  uint32_t alignment;        /* every buffer's base address is a multiple of this (bytes) */
  uint32_t compute_units;
  uint32_t gemm_dtypes;    /* DSHAL_DTYPE_BIT mask of GEMM input types the device runs natively (f32,
                            f16, bf16); hal runs a GEMM with any other input type on the host */
  uint32_t storage_dtypes; /* DSHAL_DTYPE_BIT mask of element types ops can read and write */
  uint32_t flags;          /* DSHAL_DEVICE_* */
} dshal_device_properties;

/* What hal offers the adapter. Valid from negotiate until release. */
typedef struct dshal_host_services {
  uint32_t struct_size;
  uint32_t abi_version;
  /* level: 0 debug, 1 info, 2 warning, 3 error. Thread-safe. */
  void (*log)(int level, const char* adapter_name, const char* message);
} dshal_host_services;

/* A place in a buffer. */
typedef struct dshal_buffer_ref {
  dshal_buffer buffer;
  uint64_t offset; /* bytes */
} dshal_buffer_ref;

/* A row-major matrix, or a batch of them, in a buffer. */
typedef struct dshal_matrix {
  dshal_buffer buffer;
  uint64_t offset; /* bytes, to element [0][0] of batch 0 */
  dshal_dtype dtype;
  uint64_t ld;           /* elements between the starts of consecutive stored rows */
  uint64_t batch_stride; /* elements between consecutive matrices of a batch */
} dshal_matrix;

/* A weight matrix W[N][K] (the Hugging Face Linear layout: out_features x in_features), possibly
 * quantized. Real value: W[n][k] * scales[n / block_n][k / block_k] for FP8_E4M3 and INT4;
 * scales are f32, row-major [ceil(N / block_n)][ceil(K / block_k)] (edge blocks may be partial).
 * FP8: DeepSeek's weight_scale_inv with block_n = block_k = 128.
 * INT4: group-wise with block_n = 1, block_k = group size; rows of W are packed, K must be even.
 * F32 / F16 / BF16: no scales (scales.buffer NULL), ld is the row stride in elements. */
typedef struct dshal_weight {
  dshal_buffer buffer;
  uint64_t offset; /* bytes */
  dshal_dtype dtype;
  uint64_t ld; /* elements between rows (unquantized types); must equal K for FP8 and INT4 */
  dshal_buffer scales;
  uint64_t scales_offset; /* bytes */
  uint32_t block_n;
  uint32_t block_k;
} dshal_weight;

/* ------------------------------------------------------------------------------------------------
 * GEMM (mandatory): for each batch b,
 *   C_b = alpha * op(A_b) * op(B_b) + beta * C_b
 * op(A) is M x K: A stored M x K (trans_a = 0) or K x M (trans_a = 1). op(B) is K x N: B stored
 * K x N (trans_b = 0) or N x K (trans_b = 1). C is M x N. Inputs f32, f16 or bf16 (a and b may
 * differ); accumulation in f32; C f32, f16 or bf16. beta == 0 means C is not read (NaN in C is
 * overwritten); alpha == 0 means A and B are not read (C = beta * C), as in BLAS. M, N or batch == 0
 * is a no-op; K == 0 gives C = beta * C. bf16 products may flush subnormal inputs and results to
 * zero (as AVX-512 BF16's vdpbf16ps does); nothing else may. The C matrices of a batch never share
 * an element: either stacked (c.batch_stride >= one C matrix) or side by side within the rows
 * (c.batch_stride >= n and (batch - 1) * c.batch_stride + n <= c.ld, e.g. per-head outputs of one
 * [m][heads * n] matrix); A and B batches may overlap freely (batch_stride 0 broadcasts).
 */
typedef struct dshal_gemm_desc {
  uint32_t struct_size;
  uint32_t trans_a;
  uint32_t trans_b;
  uint64_t m, n, k;
  uint64_t batch;
  float alpha;
  float beta;
  dshal_matrix a, b, c;
} dshal_gemm_desc;

/* Quantized-weight GEMM (optional): C[M][N] = alpha * A[M][K] * dequant(W)^T + beta * C. */
typedef struct dshal_gemm_quant_desc {
  uint32_t struct_size;
  uint64_t m, n, k;
  float alpha;
  float beta;
  dshal_matrix a; /* f32 / f16 / bf16, batch fields ignored */
  dshal_weight w; /* FP8_E4M3 or INT4, N x K */
  dshal_matrix c; /* f32 / f16 / bf16 */
} dshal_gemm_quant_desc;

/* Grouped GEMM for MoE experts (optional), the "contiguous" layout: rows of A are sorted by expert;
 * rows [offsets[g], offsets[g+1]) use weight group g:
 *   C[r][:] = A[r][:] * W_g^T       (W_g = weights at w.offset + g * w_group_stride_bytes)
 * offsets: I32[groups + 1] in device memory, non-decreasing, offsets[0] >= 0, offsets[groups] <= m.
 * Rows outside [offsets[0], offsets[groups]) are not written. Quantized W_g use scales at
 * w.scales_offset + g * scales_group_stride_bytes. A group with 0 rows is valid. Offsets that break
 * these rules are DSHAL_ERROR_INVALID_ARGUMENT, reported when the work runs (they live on the device). */
typedef struct dshal_grouped_gemm_desc {
  uint32_t struct_size;
  uint64_t groups;
  uint64_t m; /* rows of A and C */
  uint64_t n, k;
  dshal_matrix a;
  dshal_weight w;
  uint64_t w_group_stride_bytes;
  uint64_t scales_group_stride_bytes;
  dshal_buffer_ref offsets;
  dshal_matrix c;
} dshal_grouped_gemm_desc;

/* A strided view of a row-major [rows][cols] activation tensor. */
typedef struct dshal_tensor {
  dshal_buffer buffer;
  uint64_t offset; /* bytes */
  dshal_dtype dtype;
  uint64_t ld; /* elements between rows */
} dshal_tensor;

/* RMSNorm (optional): out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, computed in f32. */
typedef struct dshal_rms_norm_desc {
  uint32_t struct_size;
  uint64_t rows, cols;
  float eps;
  dshal_tensor x;
  dshal_tensor weight; /* [cols] */
  dshal_tensor out;    /* may alias x exactly */
} dshal_rms_norm_desc;

/* RoPE on interleaved pairs, in place (optional). For token t, head h, pair i in [0, dim/2):
 *   (x0, x1) = x[t][h][offset + 2i], x[t][h][offset + 2i + 1];  p = positions[t]
 *   x0' = x0 * cos[p][i] - x1 * sin[p][i];  x1' = x1 * cos[p][i] + x0 * sin[p][i]
 * Tables are f32 [max_position][dim / 2], computed by hal/model (YaRN included); positions are I32
 * in [0, max_position). */
typedef struct dshal_rope_desc {
  uint32_t struct_size;
  uint64_t tokens, heads, dim; /* dim even: the rotated width */
  uint64_t max_position;
  dshal_buffer buffer; /* x */
  uint64_t offset;     /* bytes, to x[0][0][start of the rotated part] */
  dshal_dtype dtype;
  uint64_t token_stride, head_stride; /* elements */
  dshal_buffer_ref positions;
  dshal_buffer_ref cos_table;
  dshal_buffer_ref sin_table;
} dshal_rope_desc;

/* Softmax over each row (optional): out[r][c] = softmax_c(scale * x[r][c]), in f32.
 * causal: row r is query i = r % row_period; columns c > i + causal_offset are masked (weight 0). */
typedef struct dshal_softmax_desc {
  uint32_t struct_size;
  uint64_t rows, cols;
  float scale;
  uint32_t causal;
  uint64_t row_period;
  uint64_t causal_offset;
  dshal_tensor x;
  dshal_tensor out; /* may alias x exactly */
} dshal_softmax_desc;

/* out[r][c] = silu(gate[r][c]) * up[r][c], silu(g) = g / (1 + exp(-g)) (optional). */
typedef struct dshal_silu_mul_desc {
  uint32_t struct_size;
  uint64_t rows, cols;
  dshal_tensor gate, up, out;
} dshal_silu_mul_desc;

/* MoE routing (optional). For each token (row of f32 logits[tokens][experts]):
 *   scores = softmax(logits) (SOFTMAX) or sigmoid(logits) (SIGMOID)
 *   choice = scores + bias (bias optional, f32 [experts]; used for selection only)
 *   GREEDY:               top_k of choice
 *   GROUP_LIMITED_GREEDY: group score = max of choice in the group; keep topk_group groups;
 *   NOAUX_TC:             group score = sum of the group's top 2 of choice; keep topk_group groups;
 *   then top_k of choice over the kept groups' experts. Experts of dropped groups count as 0 for
 *   GROUP_LIMITED_GREEDY (transformers' DeepseekV2) and as -inf for NOAUX_TC (DeepSeek's own code and
 *   transformers' DeepseekV3 from 5.6 on; older transformers used 0, which differs only when every
 *   kept choice is negative).
 *   weight_j = scores[id_j]; if norm_topk_prob: weight_j /= (sum_j weight_j + 1e-20);
 *   weight_j *= routed_scaling_factor.
 * Outputs sorted by descending choice; ties go to the lower expert index. */
typedef enum dshal_moe_scoring {
  DSHAL_MOE_SCORING_SOFTMAX = 0,
  DSHAL_MOE_SCORING_SIGMOID = 1,
  DSHAL_MOE_SCORING_MIN_ENUM = -0x7fffffff - 1,
  DSHAL_MOE_SCORING_MAX_ENUM = 0x7fffffff
} dshal_moe_scoring;
typedef enum dshal_moe_topk_method {
  DSHAL_MOE_TOPK_GREEDY = 0,
  DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY = 1,
  DSHAL_MOE_TOPK_NOAUX_TC = 2,
  DSHAL_MOE_TOPK_MIN_ENUM = -0x7fffffff - 1,
  DSHAL_MOE_TOPK_MAX_ENUM = 0x7fffffff
} dshal_moe_topk_method;

typedef struct dshal_moe_route_desc {
  uint32_t struct_size;
  uint64_t tokens, experts, top_k;
  dshal_moe_scoring scoring;
  dshal_moe_topk_method method;
  uint64_t n_group, topk_group; /* n_group divides experts; NOAUX_TC needs >= 2 experts per group */
  uint32_t norm_topk_prob;
  float routed_scaling_factor;
  dshal_tensor logits;         /* f32 [tokens][experts] */
  dshal_buffer_ref bias;       /* f32 [experts], buffer NULL for none */
  dshal_buffer_ref topk_ids;   /* I32 [tokens][top_k] out */
  dshal_buffer_ref topk_weights; /* f32 [tokens][top_k] out */
} dshal_moe_route_desc;

/* The groups routing really selects among: 1 when the method is GREEDY or its groups would keep
 * every expert (n_group <= 1, topk_group >= n_group, or n_group not dividing experts), which then
 * is plain top_k of choice over all experts; else n_group (of which topk_group are kept). Every
 * implementation, host fallback included, decides this the same way. */
static inline uint64_t dshal_moe_route_groups(const dshal_moe_route_desc* d) {
  const int grouped = d->method != DSHAL_MOE_TOPK_GREEDY && d->n_group > 1 && d->topk_group < d->n_group &&
                      d->experts % d->n_group == 0;
  return grouped ? d->n_group : 1;
}

/* MoE permute (optional): gathers token rows into expert order.
 * Slot s = t * top_k + j holds expert e = topk_ids[t][j]. Slots with e outside [0, experts) are
 * dropped (expert parallelism uses that for experts held elsewhere). Kept slots are ordered by
 * expert, then by slot; the p-th kept slot s gives out[p] = x[s / top_k] and perm[p] = s.
 * expert_offsets[e] is the first p of expert e, expert_offsets[experts] the number kept;
 * perm[p] = -1 for p >= that number. */
typedef struct dshal_moe_permute_desc {
  uint32_t struct_size;
  uint64_t tokens, top_k, experts, hidden;
  dshal_tensor x;                  /* [tokens][hidden] */
  dshal_buffer_ref topk_ids;       /* I32 [tokens][top_k] */
  dshal_tensor out;                /* [tokens * top_k][hidden], same dtype as x */
  dshal_buffer_ref expert_offsets; /* I32 [experts + 1] out */
  dshal_buffer_ref perm;           /* I32 [tokens * top_k] out */
} dshal_moe_permute_desc;

/* MoE unpermute (optional): the weighted scatter-add back to tokens, in a fixed order so results do
 * not depend on how rows were distributed:
 *   out[t] = (accumulate ? out[t] : 0) + sum over j = 0 .. top_k-1 (in that order, skipping slots
 *            not kept) of weights[t][j] * y[p(t*top_k + j)]
 * where p(s) is the row with perm[p] = s. Accumulation in f32. */
typedef struct dshal_moe_unpermute_desc {
  uint32_t struct_size;
  uint64_t tokens, top_k, hidden;
  uint32_t accumulate;
  dshal_tensor y;                /* [tokens * top_k][hidden] */
  dshal_buffer_ref perm;         /* I32 [tokens * top_k], as written by moe_permute */
  dshal_buffer_ref weights;      /* f32 [tokens][top_k] */
  dshal_tensor out;              /* [tokens][hidden] */
} dshal_moe_unpermute_desc;

/* Embedding gather (optional): out[t] = table[ids[t]]; an id outside [0, vocab) is an error
 * (DSHAL_ERROR_INVALID_ARGUMENT, reported when the work runs). */
typedef struct dshal_embedding_desc {
  uint32_t struct_size;
  uint64_t tokens, vocab, hidden;
  dshal_tensor table;        /* [vocab][hidden] */
  dshal_buffer_ref ids;      /* I32 [tokens] */
  dshal_tensor out;          /* [tokens][hidden] */
} dshal_embedding_desc;

/* Elementwise over n contiguous elements (optional), computed in f32:
 *   ADD out = a + b;  MUL out = a * b;  SCALE out = alpha * a;  CAST out = a (converted).
 * out may alias a or b exactly. */
typedef enum dshal_elementwise_op {
  DSHAL_ELEMENTWISE_ADD = 0,
  DSHAL_ELEMENTWISE_MUL = 1,
  DSHAL_ELEMENTWISE_SCALE = 2,
  DSHAL_ELEMENTWISE_CAST = 3,
  DSHAL_ELEMENTWISE_MIN_ENUM = -0x7fffffff - 1,
  DSHAL_ELEMENTWISE_MAX_ENUM = 0x7fffffff
} dshal_elementwise_op;

typedef struct dshal_elementwise_desc {
  uint32_t struct_size;
  dshal_elementwise_op op;
  uint64_t n;
  float alpha;
  dshal_tensor a, b, out; /* ld ignored; b unused by SCALE and CAST */
} dshal_elementwise_desc;

/* Attention for one sequence (optional), covering both MLA forms:
 *   NAIVE:    kv_heads == heads; K and V per head (from kv_b_proj).
 *   ABSORBED: kv_heads == 1; K is the latent cache [kv_lora + rope], V is usually a view of its
 *             first v_dim columns (W_UK / W_UV absorbed by the caller).
 * For query t, head h (kv head h * kv_heads / heads):
 *   s_j = scale * dot(q[t][h], k[j][kvh]) for j < kv_len, masked when causal and j > t + q_offset
 *   out[t][h] = sum_j softmax(s)_j * v[j][kvh]
 * Accumulation in f32. */
typedef enum dshal_attention_mode {
  DSHAL_ATTENTION_NAIVE = 0,
  DSHAL_ATTENTION_ABSORBED = 1,
  DSHAL_ATTENTION_MIN_ENUM = -0x7fffffff - 1,
  DSHAL_ATTENTION_MAX_ENUM = 0x7fffffff
} dshal_attention_mode;

typedef struct dshal_attention_view {
  dshal_buffer buffer;
  uint64_t offset; /* bytes */
  dshal_dtype dtype;
  uint64_t token_stride, head_stride; /* elements */
} dshal_attention_view;

typedef struct dshal_attention_desc {
  uint32_t struct_size;
  dshal_attention_mode mode;
  uint64_t q_len, kv_len, heads, kv_heads;
  uint64_t qk_dim, v_dim;
  float scale;
  uint32_t causal;
  uint64_t q_offset; /* position of query 0 within the keys */
  dshal_attention_view q, k, v, out;
} dshal_attention_desc;

/* Weight prepacking into a device-native layout (optional). The adapter allocates *out (released
 * with buffer_free); the packed buffer may then be given as w.buffer (w.offset 0, same scales) to
 * gemm_quant and grouped_gemm with the same dtype, n, k and groups, and as b (trans_b = 1, ld = k)
 * to gemm. hal's host fallback reads operands through the copy slots, so copies out of a packed
 * buffer (device to host, device to device) must return the plain layout it was packed from: then a
 * call the adapter declines (query_op, or a GEMM whose input type it does not multiply) still runs
 * correctly on the host. Writes into a packed buffer may be refused with INVALID_ARGUMENT. hal's
 * fallback, for adapters without this slot, is a plain copy of the weight range. */
typedef struct dshal_prepack_desc {
  uint32_t struct_size;
  uint64_t groups, n, k;
  dshal_weight w;
  uint64_t w_group_stride_bytes;
} dshal_prepack_desc;

/* all_to_all within a communicator (mandatory): rank r sends send_counts[p] elements starting at
 * element send_displs[p] of its send buffer to rank p, which receives them at element
 * recv_displs[r] of its recv buffer (recv_counts[r] must equal the sender's count). One entry per
 * rank of the communicator that lives in this process, in communicator order. Counts and
 * displacement arrays are host memory, read before the call returns. Async on each rank's stream;
 * the streams must be distinct. Send and recv buffers must not overlap. */
typedef struct dshal_all_to_all_rank {
  dshal_stream stream;
  dshal_buffer_ref send;
  const uint64_t* send_counts; /* [comm size] */
  const uint64_t* send_displs; /* [comm size] */
  dshal_buffer_ref recv;
  const uint64_t* recv_counts; /* [comm size] */
  const uint64_t* recv_displs; /* [comm size] */
} dshal_all_to_all_rank;

typedef struct dshal_all_to_all_desc {
  uint32_t struct_size;
  uint32_t elem_bytes;
  uint32_t rank_count;
  const dshal_all_to_all_rank* ranks;
} dshal_all_to_all_desc;

/* What lets processes join one communicator, made by one of them and sent to the others by the
 * caller (hal/mpi sends it with MPI_Bcast): NCCL's 128-byte ncclUniqueId, HCCL's 4108-byte root
 * info, or the name of a shared-memory segment. The adapter alone reads the bytes. */
#define DSHAL_COMM_ID_BYTES 4352u
typedef struct dshal_comm_id {
  uint8_t bytes[DSHAL_COMM_ID_BYTES];
} dshal_comm_id;

/* Ops that query_op is asked about and hal counts (native calls and host fallbacks): the optional
 * ops, and GEMM, which is mandatory but may still be declined per descriptor (a matrix unit without
 * f32 inputs, say). hal asks about DSHAL_OP_GEMM only tables whose struct_size covers
 * stream_device_time (the revision that introduced it). */
typedef enum dshal_op {
  DSHAL_OP_GROUPED_GEMM = 0,
  DSHAL_OP_GEMM_QUANT,
  DSHAL_OP_RMS_NORM,
  DSHAL_OP_ROPE,
  DSHAL_OP_SOFTMAX,
  DSHAL_OP_SILU_MUL,
  DSHAL_OP_MOE_ROUTE,
  DSHAL_OP_MOE_PERMUTE,
  DSHAL_OP_MOE_UNPERMUTE,
  DSHAL_OP_EMBEDDING,
  DSHAL_OP_ELEMENTWISE,
  DSHAL_OP_ATTENTION,
  DSHAL_OP_PREPACK_WEIGHT,
  DSHAL_OP_IMPORT_HOST_MEMORY,
  DSHAL_OP_GEMM,
  DSHAL_OP_COUNT,
  DSHAL_OP_MIN_ENUM = -0x7fffffff - 1,
  DSHAL_OP_MAX_ENUM = 0x7fffffff
} dshal_op;

/* ------------------------------------------------------------------------------------------------
 * The table. Grows only at the end; hal reads struct_size before touching a slot.
 */
typedef struct dshal_adapter_table {
  uint32_t struct_size;
  uint32_t abi_version;
  const char* name;        /* device id prefix: [a-z0-9_-]+ */
  const char* description; /* one line */

  /* ---- adapter ---- */
  /* Called once when hal unloads the adapter; every handle is released before. */
  void (*release)(void);
  /* The message of the last failure on the calling thread; never NULL (empty when none). */
  const char* (*last_error)(void);
  /* Number of devices. May return DSHAL_ERROR_UNAVAILABLE with last_error saying why (no driver,
   * no GPU ...). Blocking. */
  dshal_status (*device_count)(uint32_t* count);
  /* Opens device index (0-based). Blocking. */
  dshal_status (*device_open)(uint32_t index, dshal_device* out);
  /* Waits for the device's work, then releases it; every buffer, stream and event is released
   * before. */
  dshal_status (*device_close)(dshal_device device);
  dshal_status (*device_get_properties)(dshal_device device, dshal_device_properties* props);

  /* ---- buffers: blocking ---- */
  /* size_bytes >= 1 (hal serves size 0 itself). DSHAL_ERROR_OUT_OF_MEMORY when it cannot be had. */
  dshal_status (*buffer_alloc)(dshal_device device, uint64_t size_bytes, dshal_buffer* out);
  /* No queued work still uses the buffer: hal synchronizes the device's streams first. */
  dshal_status (*buffer_free)(dshal_buffer buffer);

  /* ---- transfers: async on stream ---- */
  /* Host memory must stay valid and unchanged until the copy completes. */
  dshal_status (*copy_h2d)(dshal_stream stream, const void* src, dshal_buffer dst, uint64_t dst_offset,
                           uint64_t bytes);
  dshal_status (*copy_d2h)(dshal_stream stream, dshal_buffer src, uint64_t src_offset, void* dst,
                           uint64_t bytes);
  /* src and dst may be on different devices of the same adapter; ranges must not overlap. */
  dshal_status (*copy_d2d)(dshal_stream stream, dshal_buffer src, uint64_t src_offset, dshal_buffer dst,
                           uint64_t dst_offset, uint64_t bytes);
  /* Repeats a 1, 2 or 4 byte pattern over bytes (a multiple of pattern_bytes); pattern is read before
   * the call returns. */
  dshal_status (*fill)(dshal_stream stream, dshal_buffer dst, uint64_t offset, uint64_t bytes,
                       const void* pattern, uint32_t pattern_bytes);

  /* ---- streams: in-order queues ---- */
  dshal_status (*stream_create)(dshal_device device, dshal_stream* out);
  /* Waits for the stream's work, then releases it. Reports a pending error like synchronize. */
  dshal_status (*stream_destroy)(dshal_stream stream);
  /* Blocks until all work enqueued so far has finished; returns the first error of that work
   * (once: the next synchronize starts clean). */
  dshal_status (*stream_synchronize)(dshal_stream stream);

  /* ---- events ---- */
  dshal_status (*event_create)(dshal_device device, dshal_event* out);
  dshal_status (*event_destroy)(dshal_event event);
  /* Async: the event completes when all work enqueued on stream before it has finished. Recording
   * again replaces the previous point. An event never recorded counts as complete. */
  dshal_status (*event_record)(dshal_event event, dshal_stream stream);
  /* Async: work enqueued on stream after this waits for the event's recorded point. Works across
   * devices of the same adapter. */
  dshal_status (*stream_wait_event)(dshal_stream stream, dshal_event event);
  /* Non-blocking: DSHAL_OK when complete, DSHAL_ERROR_NOT_READY while running, or the error of the
   * work it covers. */
  dshal_status (*event_query)(dshal_event event);
  /* Blocks until complete; returns like event_query. */
  dshal_status (*event_synchronize)(dshal_event event);

  /* ---- compute: async on stream ---- */
  dshal_status (*gemm)(dshal_stream stream, const dshal_gemm_desc* desc);

  /* ---- collectives ---- */
  /* A communicator over count devices of this adapter (ranks in the given order). Blocking. */
  dshal_status (*comm_create)(const dshal_device* devices, uint32_t count, dshal_comm* out);
  dshal_status (*comm_destroy)(dshal_comm comm);
  dshal_status (*all_to_all)(dshal_comm comm, const dshal_all_to_all_desc* desc);

  /* ---- optional: NULL means hal runs its host fallback (and counts it) ---- */
  /* DSHAL_OK when the adapter runs op natively for this descriptor (desc points to the op's
   * descriptor type; DSHAL_OP_GEMM: a dshal_gemm_desc whose input types are in gemm_dtypes);
   * DSHAL_ERROR_UNSUPPORTED sends it to the fallback. NULL: every non-NULL op slot is taken as
   * supported. Non-blocking, thread-safe. */
  dshal_status (*query_op)(dshal_device device, dshal_op op, const void* desc);
  dshal_status (*grouped_gemm)(dshal_stream stream, const dshal_grouped_gemm_desc* desc);
  dshal_status (*gemm_quant)(dshal_stream stream, const dshal_gemm_quant_desc* desc);
  dshal_status (*rms_norm)(dshal_stream stream, const dshal_rms_norm_desc* desc);
  dshal_status (*rope)(dshal_stream stream, const dshal_rope_desc* desc);
  dshal_status (*softmax)(dshal_stream stream, const dshal_softmax_desc* desc);
  dshal_status (*silu_mul)(dshal_stream stream, const dshal_silu_mul_desc* desc);
  dshal_status (*moe_route)(dshal_stream stream, const dshal_moe_route_desc* desc);
  dshal_status (*moe_permute)(dshal_stream stream, const dshal_moe_permute_desc* desc);
  dshal_status (*moe_unpermute)(dshal_stream stream, const dshal_moe_unpermute_desc* desc);
  dshal_status (*embedding)(dshal_stream stream, const dshal_embedding_desc* desc);
  dshal_status (*elementwise)(dshal_stream stream, const dshal_elementwise_desc* desc);
  dshal_status (*attention)(dshal_stream stream, const dshal_attention_desc* desc);
  /* Async on stream: the source weight is read when the work runs; *out is valid on return. */
  dshal_status (*prepack_weight)(dshal_stream stream, const dshal_prepack_desc* desc, dshal_buffer* out);
  /* Wraps bytes of host memory at ptr as a buffer, in place (devices with
   * DSHAL_DEVICE_HOST_SHARED_MEMORY). The memory stays the caller's: buffer_free releases only the
   * wrapper, and the memory must outlive it. Blocking. */
  dshal_status (*import_host_memory)(dshal_device device, void* ptr, uint64_t bytes, dshal_buffer* out);
  /* Device time, in nanoseconds, that the work the stream has completed so far took, as the device
   * measures it (timestamps) or models it (a simulator's cost model). Work still queued is not
   * counted; call after stream_synchronize for a complete figure. Benchmarks and the porting report
   * divide work by it to show device-side (for a simulator: projected) throughput. Non-blocking. */
  dshal_status (*stream_device_time)(dshal_stream stream, uint64_t* ns);

  /* ---- optional: communicators across processes, one device per process (NULL: hal/mpi stages
   * every exchange through host memory and MPI) ---- */
  /* Makes the id of a new communicator (*out is zeroed first). Blocking. */
  dshal_status (*comm_id_create)(dshal_device device, dshal_comm_id* out);
  /* Joins device as rank `rank` of a communicator of `size` ranks, each in its own process, all
   * given the same id. Blocking and collective: returns once every rank has joined, or with an
   * error (transports with a time limit report a rank that never joins; NCCL's waits). On the
   * result, all_to_all takes one rank (rank_count 1: this process's) whose counts and displacement
   * arrays have `size` entries; that senders and receivers agree on counts is the callers' duty, as
   * hal sees only this process's side. */
  dshal_status (*comm_create_rank)(dshal_device device, const dshal_comm_id* id, uint32_t rank, uint32_t size,
                                   dshal_comm* out);
} dshal_adapter_table;

/* The one entry point of a plugin library. hal offers ABI versions [min_abi, max_abi]; the adapter
 * picks the highest it supports and returns its table (static storage, valid until release) or
 * DSHAL_ERROR_ABI_MISMATCH. Called once per process, before anything else. */
typedef dshal_status (*dshal_adapter_negotiate_fn)(uint32_t min_abi, uint32_t max_abi,
                                                   const dshal_host_services* host,
                                                   const dshal_adapter_table** out_table);
#define DSHAL_ADAPTER_ENTRY_POINT "dshal_adapter_negotiate"

#ifdef __cplusplus
}
#endif

#endif /* DSHAL_ADAPTER_H */
