// GEMM drivers: cache blocking, packing and oneTBB threading around an Isa's kernels.
//
// Blocked path (BLIS-style, vectors along N): A is packed once per row block into mr-row panels for
// every k block; the N dimension is cut into column blocks (a multiple of the thread count), each
// a task that packs its B panels per k block in L2-sized groups and runs the micro-kernel over all
// row panels, while the micro-kernel prefetches the next group's source from memory.
//
// Streamed-weight path (16 < M <= ~256, W contiguous along K): A^T is packed into 32-row panels
// that stay in L2; weight panels of 12 rows are copied (dequantized) into L1 without a transpose
// and used against every A^T panel, producing C^T tiles; each task owns a range of weight rows.
//
// Small-M path (GEMV-style, M <= 16, W contiguous along K): every weight row is read once; groups
// of 4 rows are dotted with up to 4 rows of A at a time (vector partial sums along K).
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>

#include "gemm_internal.hpp"
#include "host/dtype.hpp"

namespace dshal::host::gemm_detail {

// ---- scratch pool ---------------------------------------------------------------------------------

namespace {

struct Pool {
  std::mutex mu;
  std::vector<std::pair<size_t, void*>> free;  // (capacity, pointer)
  size_t free_bytes = 0;
  static constexpr size_t kMaxFreeBytes = size_t(64) << 20;

};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: kernels may run during static destruction
  return *p;
}

}  // namespace

Scratch::Scratch(size_t bytes) {
  if (bytes == 0) return;
  {
    Pool& pl = pool();
    std::lock_guard lock(pl.mu);
    // Smallest free buffer that fits.
    size_t best = pl.free.size();
    for (size_t i = 0; i < pl.free.size(); ++i)
      if (pl.free[i].first >= bytes && (best == pl.free.size() || pl.free[i].first < pl.free[best].first)) best = i;
    if (best != pl.free.size()) {
      cap_ = pl.free[best].first;
      p_ = pl.free[best].second;
      pl.free_bytes -= cap_;
      pl.free.erase(pl.free.begin() + std::ptrdiff_t(best));
      return;
    }
  }
  // Large buffers (packed A) on 2 MiB pages when the kernel offers them: fewer TLB misses.
  const size_t align = bytes >= (size_t(2) << 20) ? size_t(2) << 20 : 4096;
  cap_ = (bytes + align - 1) / align * align;
  p_ = std::aligned_alloc(align, cap_);
  if (!p_) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (align > 4096) madvise(p_, cap_, MADV_HUGEPAGE);
#endif
}

Scratch::~Scratch() {
  if (!p_) return;
  Pool& pl = pool();
  std::lock_guard lock(pl.mu);
  pl.free.emplace_back(cap_, p_);
  pl.free_bytes += cap_;
  // Bound the pool: drop the largest buffers first.
  while (pl.free_bytes > Pool::kMaxFreeBytes && !pl.free.empty()) {
    auto it = std::max_element(pl.free.begin(), pl.free.end());
    pl.free_bytes -= it->first;
    std::free(it->second);
    pl.free.erase(it);
  }
}

// ---- helpers --------------------------------------------------------------------------------------

namespace {

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

constexpr int64_t kL2Bytes = int64_t(768) << 10;  // of a core's L2 the drivers plan to use
constexpr int kMaxPrefetch = 128;                 // lines a micro-kernel call prefetches at most

const std::byte* elem_ptr(const void* p, dshal_dtype t, int64_t idx) {
  return static_cast<const std::byte*>(p) + (t == DSHAL_DTYPE_INT4 ? idx / 2 : idx * int64_t(dtype_bytes(t)));
}

template <typename F>
void for_range(bool parallel, int64_t n, const F& f) {
  if (!parallel || n <= 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 1),
                    [&](const tbb::blocked_range<int64_t>& r) {
                      for (int64_t i = r.begin(); i != r.end(); ++i) f(i);
                    },
                    tbb::simple_partitioner());
}

// Walks the cache lines of a [rows x kc] source region, a few per micro-kernel call, so the next
// block's loads from memory overlap the current block's arithmetic.
class Prefetcher {
 public:
  Prefetcher() = default;
  Prefetcher(const Src& s, int64_t r0, int64_t rows, int64_t k0, int64_t kc) {
    const int64_t esz = s.t == DSHAL_DTYPE_INT4 ? 1 : dtype_bytes(s.t);
    if (s.ks == 1) {  // one segment per row
      base_ = elem_ptr(s.p, s.t, r0 * s.rs + k0);
      segs_ = rows;
      seg_stride_ = s.t == DSHAL_DTYPE_INT4 ? s.rs / 2 : s.rs * esz;
      seg_bytes_ = s.t == DSHAL_DTYPE_INT4 ? (kc + 1) / 2 : kc * esz;
    } else if (s.rs == 1) {  // one segment per k
      base_ = elem_ptr(s.p, s.t, r0 + k0 * s.ks);
      segs_ = kc;
      seg_stride_ = s.ks * esz;
      seg_bytes_ = rows * esz;
    }
    lines_per_seg_ = (seg_bytes_ + 63) / 64;
  }
  int64_t total_lines() const { return segs_ * lines_per_seg_; }
  // Writes the addresses of the next (at most max) lines; returns how many.
  int next(const void** out, int max) {
    int n = 0;
    for (; n < max && seg_ < segs_; ++n) {
      out[n] = base_ + seg_ * seg_stride_ + line_ * 64;
      if (++line_ == lines_per_seg_) {
        line_ = 0;
        ++seg_;
      }
    }
    return n;
  }

 private:
  const std::byte* base_ = nullptr;
  int64_t segs_ = 0, seg_stride_ = 0, seg_bytes_ = 0, lines_per_seg_ = 1;
  int64_t seg_ = 0, line_ = 0;
};

void store_row(const Dst& c, int64_t m, int64_t n0, const float* v, int64_t n, float beta) {
  if (c.t == DSHAL_DTYPE_F32) {
    float* out = static_cast<float*>(c.p) + m * c.ld + n0;
    if (beta == 0.0f) {
      std::memcpy(out, v, size_t(n) * 4);
    } else {
      for (int64_t j = 0; j < n; ++j) out[j] = v[j] + beta * out[j];
    }
    return;
  }
  uint16_t* out = static_cast<uint16_t*>(c.p) + m * c.ld + n0;
  const bool bf = c.t == DSHAL_DTYPE_BF16;
  for (int64_t j = 0; j < n; ++j) {
    float x = v[j];
    if (beta != 0.0f) x += beta * (bf ? bf16_to_f32(out[j]) : f16_to_f32(out[j]));
    out[j] = bf ? f32_to_bf16(x) : f32_to_f16(x);
  }
}

}  // namespace

void scale_c(const Dst& c, int64_t m, int64_t n, float beta) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const uint64_t idx = uint64_t(i * c.ld + j);
      store_f32(c.p, c.t, idx, beta == 0.0f ? 0.0f : beta * load_f32(c.p, c.t, idx));
    }
  }
}

// ---- blocked path ---------------------------------------------------------------------------------

void run_blocked(const Isa& isa, const Src& a, const Src& b, int64_t M, int64_t N, int64_t K, float alpha,
                 float beta, const Dst& c, bool parallel) {
  const bool use_bf16 = isa.bf16.mr != 0 && a.t == DSHAL_DTYPE_BF16 && b.t == DSHAL_DTYPE_BF16;
  const PanelKernels& pk = use_bf16 ? isa.bf16 : isa.f32;
  const int64_t mr = pk.mr, nr = pk.nr, kp = pk.kpack, KC = pk.kc;
  const int64_t kblocks = cdiv(K, KC);
  auto kc_of = [&](int64_t pc) { return std::min(KC, K - pc * KC); };
  auto ku_of = [&](int64_t kc) { return cdiv(kc, kp); };
  const int64_t ku_all = (kblocks - 1) * (KC / kp) + ku_of(kc_of(kblocks - 1));
  const int threads = parallel ? std::max(1, tbb::this_task_arena::max_concurrency()) : 1;

  // Row block: all of M when its packed A fits the budget.
  constexpr int64_t kABudget = int64_t(32) << 20;
  int64_t mc = cdiv(M, mr) * mr;
  if (mc * ku_all * 4 > kABudget) mc = std::max<int64_t>(mr, kABudget / (ku_all * 4) / mr * mr);
  Scratch abuf(size_t(std::min(mc, cdiv(M, mr) * mr) * ku_all * 4));

  // Column blocks: a multiple of the thread count when there is enough N.
  const int64_t npan = cdiv(N, nr);
  int64_t nb = cdiv(N, pk.nc);
  if (threads > 1) nb = nb < threads ? std::min<int64_t>(threads, npan) : cdiv(nb, threads) * threads;
  const int64_t ppb = cdiv(npan, nb);  // panels per block
  nb = cdiv(npan, ppb);

  for (int64_t m0 = 0; m0 < M; m0 += mc) {
    const int64_t mcur = std::min(mc, M - m0), mpan = cdiv(mcur, mr);
    auto a_panel = [&](int64_t pc, int64_t mp) {
      return abuf.as<char>() + (pc * mpan * (KC / kp) * mr + mp * ku_of(kc_of(pc)) * mr) * 4;
    };
    for_range(parallel, kblocks * mpan, [&](int64_t i) {
      const int64_t pc = i / mpan, mp = i % mpan;
      pk.pack_a(a, m0 + mp * mr, int(std::min(mr, mcur - mp * mr)), pc * KC, kc_of(pc), a_panel(pc, mp));
    });

    // Split rows too when there are fewer column blocks than threads.
    const int64_t ms = nb < threads ? std::min(mpan, cdiv(threads, nb)) : 1;
    for_range(parallel, nb * ms, [&](int64_t t) {
      const int64_t jb = t / ms, si = t % ms;
      const int64_t np0 = jb * ppb, np1 = std::min(npan, np0 + ppb);
      const int64_t n0 = np0 * nr, ncur = std::min(N, np1 * nr) - n0;
      const int64_t mp0 = si * mpan / ms, mp1 = (si + 1) * mpan / ms;
      if (mp0 == mp1) return;
      const int64_t row0 = m0 + mp0 * mr, rows = std::min(m0 + mcur, m0 + mp1 * mr) - row0;

      // Column panels are packed and used in groups sized so that the packed group, the source of
      // the next group (prefetched while this one computes) and a share of A fit in L2.
      const int64_t panel_bytes = (KC / kp) * nr * 4;
      const int64_t src_panel_bytes = nr * KC * (b.t == DSHAL_DTYPE_INT4 ? 1 : int64_t(dtype_bytes(b.t)));
      const int64_t a_bytes = std::min<int64_t>((mp1 - mp0) * mr * (KC / kp) * 4, kL2Bytes / 3);
      const int64_t group = std::clamp<int64_t>((kL2Bytes - a_bytes) / (panel_bytes + src_panel_bytes), 1, np1 - np0);
      Scratch bbuf(size_t(group * panel_bytes));
      const bool direct = c.t == DSHAL_DTYPE_F32;
      Scratch cbuf(direct ? 0 : size_t(rows * ncur * 4));

      for (int64_t pc = 0; pc < kblocks; ++pc) {
        const int64_t kc = kc_of(pc), ku = ku_of(kc);
        const float beta_eff = pc > 0 ? 1.0f : direct ? beta : 0.0f;
        for (int64_t g0 = np0; g0 < np1; g0 += group) {
          const int64_t g1 = std::min(np1, g0 + group);
          for (int64_t jp = g0; jp < g1; ++jp)
            pk.pack_b(b, jp * nr, int(std::min(nr, N - jp * nr)), pc * KC, kc, bbuf.as<char>() + (jp - g0) * ku * nr * 4);
          // The next group's source: later in this k block, or the first group of the next one.
          Prefetcher pf;
          if (g1 < np1) {
            const int64_t c0 = g1 * nr;
            pf = Prefetcher(b, c0, std::min(N, std::min(np1, g1 + group) * nr) - c0, pc * KC, kc);
          } else if (pc + 1 < kblocks) {
            pf = Prefetcher(b, n0, std::min(N, std::min(np1, np0 + group) * nr) - n0, (pc + 1) * KC, kc_of(pc + 1));
          }
          const int lines_per_call = int(std::min<int64_t>(kMaxPrefetch, cdiv(pf.total_lines(), (mp1 - mp0) * (g1 - g0))));
          const void* pf_lines[kMaxPrefetch];
          for (int64_t mp = mp0; mp < mp1; ++mp) {
            const int64_t mrow = m0 + mp * mr;
            const int mv = int(std::min(mr, m0 + mcur - mrow));
            const char* ap = a_panel(pc, mp);
            if (mp + 1 < mp1)  // the head of the next A panel, which may still be in L3
              for (int64_t off = 0; off < 2048; off += 64) __builtin_prefetch(a_panel(pc, mp + 1) + off, 0, 3);
            for (int64_t jp = g0; jp < g1; ++jp) {
              const int nv = int(std::min(nr, N - jp * nr));
              float* cp;
              int64_t ldc;
              if (direct) {
                cp = static_cast<float*>(c.p) + mrow * c.ld + jp * nr;
                ldc = c.ld;
              } else {
                cp = cbuf.as<float>() + (mrow - row0) * ncur + (jp * nr - n0);
                ldc = ncur;
              }
              const int npf = pf.next(pf_lines, lines_per_call);
              pk.ukr(ku, ap, bbuf.as<char>() + (jp - g0) * ku * nr * 4, cp, ldc, mv, nv, alpha, beta_eff, pf_lines, npf);
            }
          }
        }
      }
      if (!direct)
        for (int64_t r = 0; r < rows; ++r) store_row(c, row0 + r, n0, cbuf.as<float>() + r * ncur, ncur, beta);
    });
  }
}

// ---- streamed-weight path ------------------------------------------------------------------------

namespace {
const PanelKernels& stream_kernels(const Isa& isa, const Src& a, const Src& w) {
  return isa.bf16.ukr_t && a.t == DSHAL_DTYPE_BF16 && w.t == DSHAL_DTYPE_BF16 ? isa.bf16 : isa.f32;
}
}  // namespace

int64_t stream_max_rows(const Isa& isa, const Src& a, const Src& w) {
  const PanelKernels& pk = stream_kernels(isa, a, w);
  if (!pk.ukr_t || w.ks != 1) return 0;
  // The A^T panels of one k block stay in L2 while every weight panel streams past them.
  return kL2Bytes / 2 / (pk.kc / pk.kpack * 4);
}

void run_stream_w(const Isa& isa, const Src& a, const Src& w, int64_t M, int64_t N, int64_t K, float alpha,
                  float beta, const Dst& c, bool parallel) {
  const PanelKernels& pk = stream_kernels(isa, a, w);
  const int64_t mr = pk.mr, nr = pk.nr, kp = pk.kpack, KC = pk.kc_stream ? pk.kc_stream : pk.kc, ku_full = KC / kp;
  const int64_t kblocks = cdiv(K, KC);
  auto kc_of = [&](int64_t pc) { return std::min(KC, K - pc * KC); };
  const int threads = parallel ? std::max(1, tbb::this_task_arena::max_concurrency()) : 1;

  // A^T panels (nr rows of A each) for every k block.
  const int64_t vpan = cdiv(M, nr);
  Scratch vbuf(size_t(kblocks * vpan * ku_full * nr * 4));
  auto v_panel = [&](int64_t pc, int64_t vp) { return vbuf.as<char>() + (pc * vpan + vp) * ku_full * nr * 4; };
  for_range(parallel, kblocks * vpan, [&](int64_t i) {
    const int64_t pc = i / vpan, vp = i % vpan;
    pk.pack_b(a, vp * nr, int(std::min(nr, M - vp * nr)), pc * KC, kc_of(pc), v_panel(pc, vp));
  });

  // Weight panels (mr rows of W) in contiguous ranges, one range per task, all k blocks.
  const int64_t upan = cdiv(N, mr);
  const int64_t chunks = std::min<int64_t>(upan, int64_t(threads) * 4);
  for_range(parallel, chunks, [&](int64_t t) {
    const int64_t up0 = t * upan / chunks, up1 = (t + 1) * upan / chunks;
    if (up0 == up1) return;
    const int64_t n0 = up0 * mr, ncols = std::min(N, up1 * mr) - n0;
    Scratch ubuf(size_t(mr * pk.kc_stride * 4));
    const bool direct = c.t == DSHAL_DTYPE_F32;
    Scratch cbuf(direct ? 0 : size_t(M * ncols * 4));
    const void* pf_lines[kMaxPrefetch];
    for (int64_t pc = 0; pc < kblocks; ++pc) {
      const int64_t kc = kc_of(pc), ku = cdiv(kc, kp);
      const float beta_eff = pc > 0 ? 1.0f : direct ? beta : 0.0f;
      for (int64_t up = up0; up < up1; ++up) {
        const int64_t row0 = up * mr;
        const int nv = int(std::min(mr, N - row0));
        pk.pack_u(w, row0, nv, pc * KC, kc, ubuf.as<void>());
        // Prefetch the next weight panel while this one is used against every A^T panel.
        Prefetcher pf;
        if (up + 1 < up1) pf = Prefetcher(w, row0 + mr, std::min(mr, N - row0 - mr), pc * KC, kc);
        else if (pc + 1 < kblocks) pf = Prefetcher(w, n0, std::min(mr, N - n0), (pc + 1) * KC, kc_of(pc + 1));
        const int lines_per_call = int(std::min<int64_t>(kMaxPrefetch, cdiv(pf.total_lines(), vpan)));
        for (int64_t vp = 0; vp < vpan; ++vp) {
          const int mv = int(std::min(nr, M - vp * nr));
          float* cp = direct ? static_cast<float*>(c.p) + vp * nr * c.ld + row0
                             : cbuf.as<float>() + vp * nr * ncols + (row0 - n0);
          const int npf = pf.next(pf_lines, lines_per_call);
          pk.ukr_t(ku, ubuf.as<void>(), v_panel(pc, vp), cp, direct ? c.ld : ncols, nv, mv, alpha, beta_eff, pf_lines,
                   npf);
        }
      }
    }
    if (!direct)
      for (int64_t r = 0; r < M; ++r) store_row(c, r, n0, cbuf.as<float>() + r * ncols, ncols, beta);
  });
}

// ---- small-M path ---------------------------------------------------------------------------------

void run_gemv(const Isa& isa, const std::vector<GemvJob>& jobs, int64_t N, int64_t K) {
  constexpr int64_t kKc = 1024;          // k per chunk: 4 converted rows stay in L1
  constexpr int64_t kLdTmp = kKc + 16;   // converted rows not 4 KiB apart (no L1 set aliasing)
  constexpr int64_t kRowsPerItem = 16;  // weight rows per parallel work item
  struct Prep {
    const float* af = nullptr;
    const uint16_t* ab = nullptr;
    int64_t lda = 0;
    bool bf16dot = false, wdirect = false, wfused = false;
  };
  std::vector<Prep> prep(jobs.size());
  int64_t convert_elems = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const GemvJob& job = jobs[j];
    Prep& p = prep[j];
    p.bf16dot = isa.gemv.dot_bf16 && job.a.t == DSHAL_DTYPE_BF16 && job.w.t == DSHAL_DTYPE_BF16 && job.a.ks == 1;
    p.wdirect = p.bf16dot || (job.w.t == DSHAL_DTYPE_F32 && !isa.gemv.dot_w);
    p.wfused = !p.bf16dot && isa.gemv.dot_w && (!job.w.quant() || job.w.bk % 16 == 0);
    if (p.bf16dot) {
      p.ab = static_cast<const uint16_t*>(job.a.p);
      p.lda = job.a.rs;
    } else if (job.a.t == DSHAL_DTYPE_F32 && job.a.ks == 1) {
      p.af = static_cast<const float*>(job.a.p);
      p.lda = job.a.rs;
    } else {
      convert_elems += job.rows * K;
    }
  }
  Scratch abuf(size_t(convert_elems * 4));
  {
    float* dst = abuf.as<float>();
    for (size_t j = 0; j < jobs.size(); ++j) {
      Prep& p = prep[j];
      if (p.ab || p.af) continue;
      const GemvJob& job = jobs[j];
      for (int64_t m = 0; m < job.rows; ++m) row_to_f32(job.a.p, job.a.t, m * job.a.rs, job.a.ks, K, dst + m * K);
      p.af = dst;
      p.lda = K;
      dst += job.rows * K;
    }
  }

  const int64_t items_per_job = cdiv(N, kRowsPerItem);
  const int64_t items = items_per_job * int64_t(jobs.size());
  auto body = [&](int64_t item) {
    const GemvJob& job = jobs[size_t(item / items_per_job)];
    const Prep& p = prep[size_t(item / items_per_job)];
    const int64_t r_begin = (item % items_per_job) * kRowsPerItem, r_end = std::min(N, r_begin + kRowsPerItem);
    alignas(64) float wtmp[4 * kLdTmp];
    alignas(64) float part[kGemvMaxRows / 4][16 * 16];
    const int64_t mblocks = cdiv(job.rows, 4);
    for (int64_t n0 = r_begin; n0 < r_end; n0 += 4) {
      const int nw = int(std::min<int64_t>(4, r_end - n0));
      std::memset(part, 0, size_t(mblocks) * sizeof(part[0]));
      for (int64_t k0 = 0; k0 < K; k0 += kKc) {
        const int64_t kc = std::min(kKc, K - k0);
        if (p.bf16dot) {
          const uint16_t* w = static_cast<const uint16_t*>(job.w.p) + n0 * job.w.rs + k0;
          for (int64_t mb = 0; mb < mblocks; ++mb)
            isa.gemv.dot_bf16(p.ab + mb * 4 * p.lda + k0, p.lda, int(std::min<int64_t>(4, job.rows - mb * 4)), w,
                              job.w.rs, nw, kc, part[mb]);
          continue;
        }
        if (p.wfused) {
          for (int64_t mb = 0; mb < mblocks; ++mb)
            isa.gemv.dot_w(p.af + mb * 4 * p.lda + k0, p.lda, int(std::min<int64_t>(4, job.rows - mb * 4)), job.w, n0, nw,
                           k0, kc, part[mb]);
          continue;
        }
        const float* w;
        int64_t ldw;
        if (p.wdirect) {
          w = static_cast<const float*>(job.w.p) + n0 * job.w.rs + k0;
          ldw = job.w.rs;
        } else {
          isa.gemv.convert_w(job.w, n0, nw, k0, kc, wtmp, kLdTmp);
          w = wtmp;
          ldw = kLdTmp;
        }
        for (int64_t mb = 0; mb < mblocks; ++mb)
          isa.gemv.dot_f32(p.af + mb * 4 * p.lda + k0, p.lda, int(std::min<int64_t>(4, job.rows - mb * 4)), w, ldw, nw,
                           kc, part[mb]);
      }
      for (int64_t m = 0; m < job.rows; ++m) {
        float out[4];
        for (int ni = 0; ni < nw; ++ni) {
          const float* s = part[m / 4] + ((m % 4) * 4 + ni) * 16;
          float sum = 0.0f;
          for (int l = 0; l < 16; ++l) sum += s[l];
          out[ni] = job.alpha * sum;
        }
        store_row(job.c, m, n0, out, nw, job.beta);
      }
    }
  };
  if (items == 1) {
    body(0);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, items, 1), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t i = r.begin(); i != r.end(); ++i) body(i);
  });
}

}  // namespace dshal::host::gemm_detail
