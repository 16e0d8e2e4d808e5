// Attention host kernel (MLA naive and absorbed): flash-style online softmax in f32 over key blocks.
//
// The rows (query t, head h) that share a kv head form a group. A task takes a chunk of a group's rows
// (or several small chunks of different groups) and a range of keys, so each key block is converted
// and transposed once for every row of the chunk: with kv_heads == 1 that is many heads per read of
// the latent cache. Chunks of few rows read K in place with dot products instead. When there are too
// few tasks to keep the cores busy (decode) the keys are also split and the partial softmax states
// merged. The partition depends only on the shapes, so results do not depend on the thread count.
#include "host/ops/common.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace dshal::host {
namespace {

constexpr uint64_t kKeys = 64;           // keys per block: the width of S and of the transposed K block
constexpr int kLanes = 16;               // floats per SIMD vector
constexpr uint64_t kChunkBytes = 320 << 10;  // rows per chunk: Q and O rows of a chunk fill about this much each
constexpr uint64_t kTransposeKeys = 8;       // keys converted together before their transposition
constexpr uint64_t kMinTransposeRows = 8;    // chunks with fewer rows read K in place instead
constexpr uint64_t kMinTasks = 16;       // below this many tasks, keys are split too
constexpr uint64_t kMinSplitKeys = 256;  // ... into ranges of at least this many keys
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Generic vectors: 16 floats are one zmm (AVX-512), two ymm or four xmm. Passing them to and from the
// always-inlined helpers never reaches an ABI boundary.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float vfloat __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t vint __attribute__((vector_size(kLanes * sizeof(int32_t))));

DSHAL_HOST_INLINE vfloat vload(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
DSHAL_HOST_INLINE void vstore(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }

// exp(x) for the x <= 0 that online softmax produces, 16 lanes at a time: Cephes' expf polynomial
// (about 1 ulp). -inf and x < -87 (below FLT_MIN) give 0; NaN stays NaN.
DSHAL_HOST_INLINE vfloat vexp_nonpositive(vfloat x) {
  const vfloat lo = vfloat{} - 87.0f, zero = vfloat{};
  vfloat fx = x > lo ? x : lo;  // NaN compares false: clamped here, restored at the end
  fx = fx < zero ? fx : zero;
  const vfloat y = fx * 1.44269504088896341f + 0.5f;
  vint n = __builtin_convertvector(y, vint);  // truncation; y in [-125, 0.5]
  n += __builtin_convertvector(n, vfloat) > y;  // floor: -1 where truncation rounded up
  const vfloat fn = __builtin_convertvector(n, vfloat);
  const vfloat r = (fx - fn * 0.693359375f) - fn * -2.12194440e-4f;
  vfloat p = zero + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const vfloat e = p * r * r + r + 1.0f;
  const vfloat scale = reinterpret_cast<vfloat>((n + 127) << 23);  // 2^n, n in [-126, 0]
  vfloat v = x < lo ? zero : e * scale;
  return x != x ? x : v;
}

// s[r][0 .. kKeys) = q[r] . kt[:, j] for RT rows: q is [RT][D] (row stride D), kt is [D][kKeys].
template <int RT>
DSHAL_HOST_INLINE void qk_tile(const float* q, uint64_t D, const float* kt, float* s) {
  vfloat acc[RT][4] = {};
  for (uint64_t d = 0; d < D; ++d) {
    const float* k = kt + d * kKeys;
    const vfloat k0 = vload(k), k1 = vload(k + kLanes), k2 = vload(k + 2 * kLanes), k3 = vload(k + 3 * kLanes);
#pragma GCC unroll 4
    for (int r = 0; r < RT; ++r) {
      const float qv = q[r * D + d];
      acc[r][0] += qv * k0;
      acc[r][1] += qv * k1;
      acc[r][2] += qv * k2;
      acc[r][3] += qv * k3;
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < RT; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) vstore(s + r * kKeys + c * kLanes, acc[r][c]);
}

// o[r][0 .. CV*kLanes) += sum_j p[r][j] * v[j][0 .. CV*kLanes) for RT rows and j < jn.
template <int RT, int CV>
DSHAL_HOST_INLINE void pv_tile(const float* p, const float* v, uint64_t v_stride, uint64_t jn, float* o,
                               uint64_t o_stride) {
  vfloat acc[RT][CV];
#pragma GCC unroll 4
  for (int r = 0; r < RT; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) acc[r][c] = vload(o + r * o_stride + c * kLanes);
  for (uint64_t j = 0; j < jn; ++j) {
    const float* vr = v + j * v_stride;
    vfloat vv[CV];
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) vv[c] = vload(vr + c * kLanes);
#pragma GCC unroll 4
    for (int r = 0; r < RT; ++r) {
      const float pr = p[r * kKeys + j];
#pragma GCC unroll 4
      for (int c = 0; c < CV; ++c) acc[r][c] += pr * vv[c];
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < RT; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) vstore(o + r * o_stride + c * kLanes, acc[r][c]);
}

template <int RT>
DSHAL_HOST_INLINE void pv_rows(const float* p, const float* v, uint64_t v_stride, uint64_t jn, float* o,
                               uint64_t Dv) {
  uint64_t c = 0;
  for (; c + 4 * kLanes <= Dv; c += 4 * kLanes) pv_tile<RT, 4>(p, v + c, v_stride, jn, o + c, Dv);
  for (; c + kLanes <= Dv; c += kLanes) pv_tile<RT, 1>(p, v + c, v_stride, jn, o + c, Dv);
  for (; c < Dv; ++c)
    for (int r = 0; r < RT; ++r) {
      float acc = o[r * Dv + c];
      for (uint64_t j = 0; j < jn; ++j) acc += p[r * kKeys + j] * v[j * v_stride + c];
      o[r * Dv + c] = acc;
    }
}

// Key row k (dtype t) as 16 f32 lanes from element d.
DSHAL_HOST_INLINE vfloat vload_key(const std::byte* k, dshal_dtype t, uint64_t d) {
  if (t == DSHAL_DTYPE_BF16) {
    typedef uint16_t vu16 __attribute__((vector_size(kLanes * sizeof(uint16_t))));
    typedef uint32_t vu32 __attribute__((vector_size(kLanes * sizeof(uint32_t))));
    vu16 h;
    std::memcpy(&h, k + 2 * d, sizeof h);
    return reinterpret_cast<vfloat>(__builtin_convertvector(h, vu32) << 16);
  }
  return vload(reinterpret_cast<const float*>(k) + d);
}

// s[r][j] = q[r] . k_j for RT rows and keys j < jn read in place (f32 or bf16), 0 for j >= jn: the
// path for chunks too small to pay for a transposed K block.
template <int RT>
DSHAL_HOST_INLINE void qk_dot(const float* q, uint64_t D, const std::byte* const* keys, dshal_dtype t, uint64_t jn,
                              float* s) {
  for (uint64_t j = 0; j < jn; ++j) {
    const std::byte* k = keys[j];
    vfloat acc[RT] = {};
    uint64_t d = 0;
    for (; d + kLanes <= D; d += kLanes) {
      const vfloat kv = vload_key(k, t, d);
#pragma GCC unroll 4
      for (int r = 0; r < RT; ++r) acc[r] += vload(q + r * D + d) * kv;
    }
#pragma GCC unroll 4
    for (int r = 0; r < RT; ++r) {
      float sum = 0.0f;
      for (int i = 0; i < kLanes; ++i) sum += acc[r][i];
      for (uint64_t e = d; e < D; ++e) sum += q[r * D + e] * load_f32(k, t, e);
      s[r * kKeys + j] = sum;
    }
  }
  for (int r = 0; r < RT; ++r) std::fill(s + r * kKeys + jn, s + (r + 1) * kKeys, 0.0f);
}

struct Block {
  const float* q;          // [rows][D]
  uint64_t rows, D, Dv;
  const float* kt;         // [D][kKeys], keys past the block's end zero; or null: read keys in place
  const std::byte* const* keys;  // key rows (f32 or bf16) when kt is null
  dshal_dtype k_dtype;
  const float* v;          // row j at v + j * v_stride, Dv floats
  uint64_t v_stride;
  const uint32_t* visible; // per row: keys [0, visible) of the block are unmasked
  float scale;
  float* s;                // [rows][kKeys] scratch
  float* o;                // [rows][Dv] unnormalized output
  float* m;                // [rows] running max
  float* l;                // [rows] running sum
};

// One key block for every row of a chunk: S = scale * Q K^T, online softmax update, O += P V.
DSHAL_HOST_SIMD_CLONES void attend_block(const Block& b) {
  for (uint64_t r0 = 0; r0 < b.rows; r0 += 4) {
    const int rt = int(std::min<uint64_t>(4, b.rows - r0));
    uint32_t jmax = 0;
    for (int r = 0; r < rt; ++r) jmax = std::max(jmax, b.visible[r0 + r]);
    if (jmax == 0) continue;
    const float* q = b.q + r0 * b.D;
    float* s = b.s + r0 * kKeys;
    if (b.kt) {
      switch (rt) {
        case 4: qk_tile<4>(q, b.D, b.kt, s); break;
        case 3: qk_tile<3>(q, b.D, b.kt, s); break;
        case 2: qk_tile<2>(q, b.D, b.kt, s); break;
        default: qk_tile<1>(q, b.D, b.kt, s); break;
      }
    } else {
      switch (rt) {
        case 4: qk_dot<4>(q, b.D, b.keys, b.k_dtype, jmax, s); break;
        case 3: qk_dot<3>(q, b.D, b.keys, b.k_dtype, jmax, s); break;
        case 2: qk_dot<2>(q, b.D, b.keys, b.k_dtype, jmax, s); break;
        default: qk_dot<1>(q, b.D, b.keys, b.k_dtype, jmax, s); break;
      }
    }
    for (int r = 0; r < rt; ++r) {
      const uint64_t row = r0 + r, n = b.visible[row];
      float* sr = s + r * kKeys;
      // Scale, mask keys j >= n to -inf, and find the block's max.
      vint lane;
      for (int i = 0; i < kLanes; ++i) lane[i] = i;
      vfloat vmax = vfloat{} + kNegInf;
#pragma GCC unroll 4
      for (int c = 0; c < int(kKeys / kLanes); ++c) {
        vfloat v = vload(sr + c * kLanes) * b.scale;
        v = lane + c * kLanes < int32_t(n) ? v : vfloat{} + kNegInf;
        vstore(sr + c * kLanes, v);
        vmax = v > vmax ? v : vmax;
      }
      float block_max = kNegInf;
      for (int i = 0; i < kLanes; ++i) block_max = vmax[i] > block_max ? vmax[i] : block_max;
      const float m_old = b.m[row], m_new = std::max(m_old, block_max);
      if (m_new == kNegInf) {  // nothing visible yet (or every score -inf): this block adds nothing
        std::fill_n(sr, kKeys, 0.0f);
        continue;
      }
      // p = exp(s - m_new), 0 where masked; lane-wise sums in a fixed order.
      vfloat vsum = vfloat{};
#pragma GCC unroll 4
      for (int c = 0; c < int(kKeys / kLanes); ++c) {
        const vfloat p = vexp_nonpositive(vload(sr + c * kLanes) - m_new);
        vstore(sr + c * kLanes, p);
        vsum += p;
      }
      float sum = 0.0f;
      for (int i = 0; i < kLanes; ++i) sum += vsum[i];
      const float alpha = m_old == kNegInf ? 0.0f : (vexp_nonpositive(vfloat{} + (m_old - m_new)))[0];
      b.l[row] = b.l[row] * alpha + sum;
      b.m[row] = m_new;
      if (alpha != 1.0f) {
        float* o = b.o + row * b.Dv;
        for (uint64_t c = 0; c < b.Dv; ++c) o[c] *= alpha;
      }
    }
    float* o = b.o + r0 * b.Dv;
    switch (rt) {
      case 4: pv_rows<4>(s, b.v, b.v_stride, jmax, o, b.Dv); break;
      case 3: pv_rows<3>(s, b.v, b.v_stride, jmax, o, b.Dv); break;
      case 2: pv_rows<2>(s, b.v, b.v_stride, jmax, o, b.Dv); break;
      default: pv_rows<1>(s, b.v, b.v_stride, jmax, o, b.Dv); break;
    }
  }
}

// kt[c][j] = element c of key row j as f32, for j < jn; 0 for jn <= j < kKeys. Keys go kTransposeKeys
// at a time, so that each store fills part of one cache line and the rows read stay in L1.
template <typename Load>
DSHAL_HOST_INLINE void transpose_keys_with(const std::byte* const* rows, uint64_t jn, uint64_t D, float* kt, Load load) {
  for (uint64_t jb = 0; jb < kKeys; jb += kTransposeKeys) {
    if (jb + kTransposeKeys <= jn) {
      for (uint64_t c = 0; c < D; ++c)
#pragma GCC unroll 8
        for (uint64_t j = 0; j < kTransposeKeys; ++j) kt[c * kKeys + jb + j] = load(rows[jb + j], c);
    } else {
      for (uint64_t c = 0; c < D; ++c)
        for (uint64_t j = 0; j < kTransposeKeys; ++j) kt[c * kKeys + jb + j] = jb + j < jn ? load(rows[jb + j], c) : 0.0f;
    }
  }
}

DSHAL_HOST_SIMD_CLONES void transpose_keys(const std::byte* const* rows, uint64_t jn, dshal_dtype t, uint64_t D,
                                           float* kt, float* tmp /* [kKeys][D] */) {
  switch (t) {
    case DSHAL_DTYPE_F32:
      transpose_keys_with(rows, jn, D, kt, [](const std::byte* p, uint64_t c) {
        float v;
        std::memcpy(&v, p + 4 * c, 4);
        return v;
      });
      return;
    case DSHAL_DTYPE_BF16:
      transpose_keys_with(rows, jn, D, kt, [](const std::byte* p, uint64_t c) {
        uint16_t h;
        std::memcpy(&h, p + 2 * c, 2);
        return bf16_to_f32(h);
      });
      return;
    default: {
      const std::byte* tmp_rows[kKeys];
      for (uint64_t j = 0; j < jn; ++j) {
        ops::load_row(rows[j], t, D, tmp + j * D);
        tmp_rows[j] = reinterpret_cast<const std::byte*>(tmp + j * D);
      }
      transpose_keys_with(tmp_rows, jn, D, kt, [](const std::byte* p, uint64_t c) {
        float v;
        std::memcpy(&v, p + 4 * c, 4);
        return v;
      });
      return;
    }
  }
}

inline void prefetch_row(const std::byte* p, uint64_t bytes) {
  for (uint64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
}

struct View {
  const std::byte* base;
  dshal_dtype dtype;
  uint64_t token_stride, head_stride;
  explicit View(const dshal_attention_view& v)
      : base(host_ptr(v.buffer, v.offset)), dtype(v.dtype), token_stride(v.token_stride), head_stride(v.head_stride) {}
  const std::byte* at(uint64_t t, uint64_t h) const {
    return base + (t * token_stride + h * head_stride) * dtype_bytes(dtype);
  }
};

struct Segment {  // rows [row_begin, row_end) of one group
  uint64_t group, row_begin, row_end;
};

struct Task {  // segments [seg_begin, seg_end) over the keys of one split
  uint64_t seg_begin, seg_end, split;
};

struct Scratch {
  std::vector<float> q, o, m, l, s, kt, v, row;
  std::vector<uint32_t> end, visible;
};

template <typename T>
T* sized(std::vector<T>& v, uint64_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace

dshal_status attention(const dshal_attention_desc& d, std::string* error) {
  if (d.q_len == 0 || d.heads == 0 || d.v_dim == 0) return DSHAL_OK;
  const uint64_t D = d.qk_dim, Dv = d.v_dim;
  const View qv(d.q), kv(d.k), vv(d.v);
  std::byte* const out_base = host_ptr(d.out.buffer, d.out.offset);
  const auto out_at = [&](uint64_t t, uint64_t h) {
    return out_base + (t * d.out.token_stride + h * d.out.head_stride) * dtype_bytes(d.out.dtype);
  };
  if (d.kv_len == 0 || d.kv_heads == 0) {  // nothing to attend to: the empty sum
    const std::vector<float> zero(Dv, 0.0f);
    for (uint64_t t = 0; t < d.q_len; ++t)
      for (uint64_t h = 0; h < d.heads; ++h) ops::store_row(zero.data(), Dv, out_at(t, h), d.out.dtype);
    return DSHAL_OK;
  }

  // Group g holds heads [head_begin[g], head_begin[g + 1]): those with h * kv_heads / heads == g.
  // Its rows are r = t * group_heads + (h - head_begin[g]), query-major.
  std::vector<uint64_t> head_begin(d.kv_heads + 1, d.heads);
  for (uint64_t h = d.heads; h-- > 0;) head_begin[h * d.kv_heads / d.heads] = h;
  for (uint64_t g = d.kv_heads; g-- > 0;) head_begin[g] = std::min(head_begin[g], head_begin[g + 1]);

  // Segments: each group's rows cut into chunks. A task takes one segment, or several small ones
  // (decode without shared kv heads: one row per head), which then read the cache together, token by
  // token, instead of one head's rows a whole token apart each.
  const uint64_t chunk_rows = std::max<uint64_t>(4, kChunkBytes / (4 * std::max(D, Dv)) / 4 * 4);
  std::vector<Segment> segments;
  std::vector<uint64_t> row_base(d.kv_heads + 1, 0);  // first global row of each group
  for (uint64_t g = 0; g < d.kv_heads; ++g) {
    const uint64_t rows = d.q_len * (head_begin[g + 1] - head_begin[g]);
    row_base[g + 1] = row_base[g] + rows;
    for (uint64_t r = 0; r < rows; r += chunk_rows) segments.push_back({g, r, std::min(rows, r + chunk_rows)});
  }
  std::vector<Task> tasks;
  for (uint64_t i = 0; i < segments.size();) {
    uint64_t e = i, rows = 0;
    do rows += segments[e].row_end - segments[e].row_begin;
    while (++e < segments.size() && rows + segments[e].row_end - segments[e].row_begin <= kMinTransposeRows);
    tasks.push_back({i, e, 0});
    i = e;
  }
  const uint64_t blocks = (d.kv_len + kKeys - 1) / kKeys;
  uint64_t splits = 1;
  if (tasks.size() < kMinTasks)
    splits = std::max<uint64_t>(1, std::min((kMinTasks + tasks.size() - 1) / tasks.size(), d.kv_len / kMinSplitKeys));
  splits = std::min(splits, blocks);
  if (splits > 1) {
    std::vector<Task> split_tasks;
    for (const Task& t : tasks)
      for (uint64_t s = 0; s < splits; ++s) split_tasks.push_back({t.seg_begin, t.seg_end, s});
    tasks.swap(split_tasks);
  }
  // With splits, each (row, split) leaves its unnormalized state here for the merge.
  const uint64_t total_rows = row_base[d.kv_heads];
  std::vector<float> part_o(splits > 1 ? total_rows * splits * Dv : 0);
  std::vector<float> part_m(splits > 1 ? total_rows * splits : 0), part_l(part_m.size());

  const bool v_f32 = vv.dtype == DSHAL_DTYPE_F32;
  const bool k_direct = kv.dtype == DSHAL_DTYPE_F32 || kv.dtype == DSHAL_DTYPE_BF16;
  const uint64_t k_row_bytes = D * dtype_bytes(kv.dtype), v_row_bytes = Dv * dtype_bytes(vv.dtype);
  tbb::enumerable_thread_specific<Scratch> scratch;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, tasks.size(), 1), [&](const tbb::blocked_range<size_t>& range) {
    Scratch& sc = scratch.local();
    for (size_t ti = range.begin(); ti != range.end(); ++ti) {
      const Task task = tasks[ti];
      uint64_t rows = 0;
      for (uint64_t si = task.seg_begin; si < task.seg_end; ++si) rows += segments[si].row_end - segments[si].row_begin;
      float* q = sized(sc.q, rows * D);
      float* o = sized(sc.o, rows * Dv);
      float* m = sized(sc.m, rows);
      float* l = sized(sc.l, rows);
      float* s = sized(sc.s, rows * kKeys);
      float* kt = sized(sc.kt, D * kKeys);
      float* vbuf = v_f32 ? nullptr : sized(sc.v, kKeys * Dv);
      float* tmp = k_direct ? nullptr : sized(sc.row, kKeys * D);
      uint32_t* end = sized(sc.end, rows);
      uint32_t* visible = sized(sc.visible, rows);

      // Task row i belongs to segment seg_of(i); (t, h) of each row.
      uint64_t max_end = 0;
      for (uint64_t si = task.seg_begin, i = 0; si < task.seg_end; ++si) {
        const Segment& sg = segments[si];
        const uint64_t hb = head_begin[sg.group], hg = head_begin[sg.group + 1] - hb;
        for (uint64_t r = sg.row_begin; r < sg.row_end; ++r, ++i) {
          const uint64_t t = r / hg, h = hb + r % hg;
          ops::load_row(qv.at(t, h), qv.dtype, D, q + i * D);
          uint64_t e = d.kv_len;
          if (d.causal && d.q_offset < d.kv_len) e = std::min<uint64_t>(d.kv_len, t + d.q_offset + 1);
          end[i] = uint32_t(e);
          max_end = std::max(max_end, e);
        }
      }
      std::fill_n(o, rows * Dv, 0.0f);
      std::fill_n(m, rows, kNegInf);
      std::fill_n(l, rows, 0.0f);

      const uint64_t key_begin = std::min(d.kv_len, blocks * task.split / splits * kKeys);
      const uint64_t key_end = std::min(max_end, blocks * (task.split + 1) / splits * kKeys);
      for (uint64_t j0 = key_begin; j0 < key_end; j0 += kKeys) {
        const uint64_t jn = std::min(kKeys, key_end - j0);
        // Cache rows sit a whole token apart (all heads between): prefetch the next block's K and V
        // rows, or each row costs a memory latency.
        for (uint64_t j = j0 + kKeys; j < std::min(key_end, j0 + 2 * kKeys); ++j)
          for (uint64_t si = task.seg_begin; si < task.seg_end; ++si) {
            if (si > task.seg_begin && segments[si].group == segments[si - 1].group) continue;
            prefetch_row(kv.at(j, segments[si].group), k_row_bytes);
            prefetch_row(vv.at(j, segments[si].group), v_row_bytes);
          }
        for (uint64_t si = task.seg_begin, i0 = 0; si < task.seg_end; ++si) {
          const Segment& sg = segments[si];
          const uint64_t g = sg.group, n = sg.row_end - sg.row_begin;
          // Few rows cannot pay for transposing K: their scores are dot products on the rows in place.
          const bool keys_in_place = n < kMinTransposeRows && k_direct;
          const std::byte* key_rows[kKeys];
          for (uint64_t j = 0; j < jn; ++j) key_rows[j] = kv.at(j0 + j, g);
          if (!keys_in_place) transpose_keys(key_rows, jn, kv.dtype, D, kt, tmp);
          const float* v;
          uint64_t v_stride;
          if (v_f32) {
            v = reinterpret_cast<const float*>(vv.at(j0, g));
            v_stride = vv.token_stride;
          } else {
            for (uint64_t j = 0; j < jn; ++j) ops::load_row(vv.at(j0 + j, g), vv.dtype, Dv, vbuf + j * Dv);
            v = vbuf;
            v_stride = Dv;
          }
          for (uint64_t i = i0; i < i0 + n; ++i) visible[i] = uint32_t(end[i] > j0 ? std::min(jn, end[i] - j0) : 0);
          attend_block({q + i0 * D, n, D, Dv, keys_in_place ? nullptr : kt, key_rows, kv.dtype, v, v_stride,
                        visible + i0, d.scale, s, o + i0 * Dv, m + i0, l + i0});
          i0 += n;
        }
      }

      for (uint64_t si = task.seg_begin, i = 0; si < task.seg_end; ++si) {
        const Segment& sg = segments[si];
        const uint64_t g = sg.group, hb = head_begin[g], hg = head_begin[g + 1] - hb;
        for (uint64_t r = sg.row_begin; r < sg.row_end; ++r, ++i) {
          float* oi = o + i * Dv;
          if (splits > 1) {
            const uint64_t slot = (row_base[g] + r) * splits + task.split;
            std::copy_n(oi, Dv, part_o.data() + slot * Dv);
            part_m[slot] = m[i];
            part_l[slot] = l[i];
          } else {
            const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
            for (uint64_t c = 0; c < Dv; ++c) oi[c] *= inv;
            ops::store_row(oi, Dv, out_at(r / hg, hb + r % hg), d.out.dtype);
          }
        }
      }
    }
  });

  if (splits > 1) {  // merge the splits of each row, in split order
    tbb::parallel_for(tbb::blocked_range<uint64_t>(0, d.kv_heads), [&](const tbb::blocked_range<uint64_t>& gr) {
      std::vector<float> acc(Dv), w(splits);
      for (uint64_t g = gr.begin(); g != gr.end(); ++g) {
        const uint64_t hb = head_begin[g], hg = head_begin[g + 1] - hb;
        for (uint64_t r = 0; r < row_base[g + 1] - row_base[g]; ++r) {
          const uint64_t slot0 = (row_base[g] + r) * splits;
          float mx = kNegInf;
          for (uint64_t s = 0; s < splits; ++s) mx = std::max(mx, part_m[slot0 + s]);
          float sum = 0.0f;
          for (uint64_t s = 0; s < splits; ++s) {
            w[s] = part_m[slot0 + s] == kNegInf ? 0.0f : std::exp(part_m[slot0 + s] - mx);
            sum += w[s] * part_l[slot0 + s];
          }
          std::fill(acc.begin(), acc.end(), 0.0f);
          for (uint64_t s = 0; s < splits; ++s) {
            if (w[s] == 0.0f) continue;
            const float* po = part_o.data() + (slot0 + s) * Dv;
            for (uint64_t c = 0; c < Dv; ++c) acc[c] += w[s] * po[c];
          }
          const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
          for (uint64_t c = 0; c < Dv; ++c) acc[c] *= inv;
          ops::store_row(acc.data(), Dv, out_at(r / hg, hb + r % hg), d.out.dtype);
        }
      }
    });
  }
  return DSHAL_OK;
}

}  // namespace dshal::host
