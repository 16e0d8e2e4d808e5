// adapters/npu-sim/npu_sim.hpp: the simulated NPU's handle types and the helpers every slot shares.
//
// The simulator models an Ascend-style card closely enough that a vendor can read it as a reference
// port of dshal's adapter ABI:
//   - card memory ("HBM", Ascend's global memory) is a PROT_NONE reservation the host cannot read
//     or write; only the adapter's DMA engine thread opens pages, copies, and closes them again
//     (npu_memory.cpp), so any host code that dereferences a device address segfaults;
//   - each stream is an in-order queue drained by its own worker thread, the stand-in for a
//     hardware queue; kernels compute in host scratch ("on-chip buffers") that the DMA engine
//     fills from and drains to HBM, like Ascend's memory transfer engines (npu_streams.cpp);
//   - the matrix unit ("cube") takes f16 / bf16 inputs with f32 accumulation, and reads weights
//     prepacked into the 16x16 fractal NZ layout (npu_gemm.cpp, npu_nz_pack.cpp);
//   - all_to_all between cards is an HCCL-like collective moved by the DMA engine (npu_all_to_all.cpp);
//   - a cost model from a YAML spec turns every op into simulated device time (npu_cost_model.cpp,
//     npu_spec.cpp), reported through stream_device_time.
// Everything here sees only the public C header dshal/adapter.h.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <dshal/adapter.h>

namespace npu_sim {

// Every buffer's base address is a multiple of this (Ascend's global-memory rule: 32-byte aligned
// addresses for the memory transfer engines). Reported as properties.alignment.
inline constexpr uint32_t kAlignment = 32;

// ---- errors ------------------------------------------------------------------------------------

// Records message as the calling thread's last_error and returns status.
dshal_status fail(dshal_status status, std::string message);
void clear_error();
const char* last_error();

// Runs body and converts any exception into a status: nothing may cross the C ABI.
template <class Body>
dshal_status guarded(const char* slot, Body&& body) noexcept {
  try {
    clear_error();
    return body();
  } catch (const std::bad_alloc&) {
    return fail(DSHAL_ERROR_OUT_OF_MEMORY, std::string(slot) + ": out of host memory");
  } catch (const std::exception& e) {
    return fail(DSHAL_ERROR_INTERNAL, std::string(slot) + ": " + e.what());
  } catch (...) {
    return fail(DSHAL_ERROR_INTERNAL, std::string(slot) + ": unknown exception");
  }
}

// The outcome of one piece of queued work: a status and, on failure, the message.
struct WorkResult {
  dshal_status status = DSHAL_OK;
  std::string message;
};

// ---- the spec (npu_spec.cpp) -------------------------------------------------------------------

// One card model, read from a YAML spec file. Every number feeds the cost model or the properties.
struct Spec {
  std::string path;  // where it was read from, for messages
  std::string name;
  uint32_t cards = 0;
  uint64_t memory_bytes = 0;
  uint32_t compute_units = 0;
  double tflops_f16 = 0, tflops_bf16 = 0, tflops_f32 = 0;  // matrix-unit peak per input type
  double hbm_gbps = 0;           // card memory bandwidth
  double pcie_gbps = 0;          // host <-> card, one direction
  double interconnect_gbps = 0;  // card <-> card (HCCS-like), one direction per peer link
  double launch_overhead_us = 0; // fixed cost of every queued kernel or DMA
};

// The spec in use: DSHAL_NPU_SIM_SPEC, else the default spec shipped beside the manifest; the card
// count may be overridden with DSHAL_NPU_SIM_CARDS. Loaded once; a bad file leaves *error set
// (naming the file and field) and returns nullptr.
const Spec* spec(std::string* error);

// ---- the cost model (npu_cost_model.cpp) -------------------------------------------------------

// Simulated nanoseconds for each kind of work, from the spec.
namespace cost {
uint64_t gemm_ns(const Spec& s, dshal_dtype a, dshal_dtype b, double flops, double hbm_bytes);
uint64_t host_copy_ns(const Spec& s, uint64_t bytes);          // h2d / d2h over PCIe
uint64_t card_copy_ns(const Spec& s, uint64_t bytes, bool same_card);  // d2d: HBM or interconnect
uint64_t fill_ns(const Spec& s, uint64_t bytes);
// One rank's share of an all_to_all: bytes it keeps on its card and bytes it pulls from peers.
uint64_t all_to_all_ns(const Spec& s, uint64_t local_bytes, uint64_t remote_bytes);
}  // namespace cost

// ---- the DMA engine (npu_memory.cpp) -----------------------------------------------------------

// A byte range of card memory a DMA job touches, and whether it writes it.
struct Window {
  std::byte* address;
  uint64_t bytes;
  bool write;
};

// Runs job on the DMA engine thread with the given card-memory windows opened (mprotect) for it,
// closes them again, and returns once done. The one and only place card memory becomes accessible.
// Jobs only move bytes (memcpy / memset); any exception inside is returned as an error message.
WorkResult dma(const std::vector<Window>& windows, const std::function<void()>& job);
// Starts / stops the engine thread; the engine lives while any device is open.
void dma_engine_acquire();
void dma_engine_release();

}  // namespace npu_sim

// ---- handles -----------------------------------------------------------------------------------

// A card's memory: a PROT_NONE virtual reservation with a first-fit allocator over it.
struct NpuHbm;
struct NpuHbmDeleter {
  void operator()(NpuHbm* hbm) const;  // unmaps the reservation (npu_memory.cpp)
};
using NpuHbmPtr = std::unique_ptr<NpuHbm, NpuHbmDeleter>;

struct dshal_device_s {
  uint32_t index;
  const npu_sim::Spec* spec;
  NpuHbmPtr hbm;
};

// How a buffer's bytes are laid out. PLAIN is what hal and every host fallback read; NZ buffers
// come only from prepack_weight and are read natively by this adapter's gemm and grouped_gemm. A
// copy out of an NZ buffer (hal's host fallback staging it, say, for a GEMM with f32 activations,
// which the cube declines) gets the plain layout it was packed from.
enum class NpuLayout { plain, nz };

struct NpuNzInfo {
  dshal_dtype dtype;
  uint64_t groups, n, k;  // the logical weight: groups x [n][k]
  uint64_t group_elems;   // packed elements per group (padded to whole 16 x 16 fractals)
  uint64_t plain_ld, plain_group_stride_bytes;  // the layout it was packed from (copies out give it back)
};

struct dshal_buffer_s {
  dshal_device device;
  uint64_t size_bytes;  // what was asked for
  uint64_t reserved_bytes;  // what the allocator handed out (whole pages)
  std::byte* data;      // card memory: the host must not dereference it
  NpuLayout layout = NpuLayout::plain;
  NpuNzInfo nz{};
};

struct NpuEventPoint {
  std::mutex mutex;
  std::condition_variable reached;
  bool done = false;
  npu_sim::WorkResult result;

  void complete(npu_sim::WorkResult r);
  npu_sim::WorkResult wait();
};

// An in-order queue drained by one worker thread: the stand-in for a hardware queue. Each piece of
// work returns its result and the simulated device time it took; the stream sums the time.
struct dshal_stream_s {
  struct Outcome {
    npu_sim::WorkResult result;
    uint64_t device_ns = 0;
  };
  using Work = std::function<Outcome()>;

  explicit dshal_stream_s(dshal_device d);
  ~dshal_stream_s();

  void enqueue(Work work);
  npu_sim::WorkResult synchronize();
  npu_sim::WorkResult pending_error();
  uint64_t device_ns() const { return device_ns_.load(std::memory_order_acquire); }

  dshal_device device;

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Work> queue_;
  uint64_t enqueued_ = 0, finished_ = 0;
  bool stopping_ = false;
  npu_sim::WorkResult first_error_;
  std::atomic<uint64_t> device_ns_{0};
  std::thread worker_;  // last: starts after the members it uses exist
};

struct dshal_event_s {
  dshal_device device;
  std::mutex mutex;
  std::shared_ptr<NpuEventPoint> point;
};

struct NpuProcessLinks;  // npu_process_links.cpp

struct dshal_comm_s {
  std::vector<dshal_device> devices;  // this process's ranks
  std::shared_ptr<NpuProcessLinks> links;  // ranks in other processes (comm_create_rank), else null
};

// ---- slots, one group per file -----------------------------------------------------------------
namespace npu_sim {

// npu_devices.cpp
dshal_status device_count(uint32_t* count);
dshal_status device_open(uint32_t index, dshal_device* out);
dshal_status device_close(dshal_device device);
dshal_status device_get_properties(dshal_device device, dshal_device_properties* props);

// npu_memory.cpp
dshal_status buffer_alloc(dshal_device device, uint64_t size_bytes, dshal_buffer* out);
dshal_status buffer_free(dshal_buffer buffer);
// Reserves a card's memory (virtual space only) / releases it.
NpuHbmPtr hbm_reserve(uint32_t card, uint64_t bytes, std::string* error);
// Allocates from a card directly (prepack_weight uses it for packed buffers).
dshal_status allocate(dshal_device device, uint64_t size_bytes, uint64_t storage_bytes, dshal_buffer* out);

// npu_transfers.cpp
dshal_status copy_h2d(dshal_stream stream, const void* src, dshal_buffer dst, uint64_t dst_offset, uint64_t bytes);
dshal_status copy_d2h(dshal_stream stream, dshal_buffer src, uint64_t src_offset, void* dst, uint64_t bytes);
dshal_status copy_d2d(dshal_stream stream, dshal_buffer src, uint64_t src_offset, dshal_buffer dst,
                      uint64_t dst_offset, uint64_t bytes);
dshal_status fill(dshal_stream stream, dshal_buffer dst, uint64_t offset, uint64_t bytes, const void* pattern,
                  uint32_t pattern_bytes);

// Kernel staging (npu_transfers.cpp), through the DMA engine: copy bytes of card memory into host
// scratch; write rows back from scratch laid out like the card range (row r at r * row_pitch_bytes),
// only the rows marked in *only when given, never the gaps between rows.
WorkResult stage_in(const std::byte* card, uint64_t bytes, std::vector<std::byte>* scratch);
WorkResult stage_out_rows(std::byte* card, const std::byte* scratch, uint64_t rows, uint64_t row_pitch_bytes,
                          uint64_t row_bytes, const std::vector<bool>* only);

// npu_streams.cpp
dshal_status stream_create(dshal_device device, dshal_stream* out);
dshal_status stream_destroy(dshal_stream stream);
dshal_status stream_synchronize(dshal_stream stream);
dshal_status stream_device_time(dshal_stream stream, uint64_t* ns);
dshal_status event_create(dshal_device device, dshal_event* out);
dshal_status event_destroy(dshal_event event);
dshal_status event_record(dshal_event event, dshal_stream stream);
dshal_status stream_wait_event(dshal_stream stream, dshal_event event);
dshal_status event_query(dshal_event event);
dshal_status event_synchronize(dshal_event event);

// npu_gemm.cpp
dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* desc);
dshal_status grouped_gemm(dshal_stream stream, const dshal_grouped_gemm_desc* desc);

// npu_nz_pack.cpp
dshal_status prepack_weight(dshal_stream stream, const dshal_prepack_desc* desc, dshal_buffer* out);
// Element index of logical weight element (group, row, col) inside an NZ-packed buffer.
uint64_t nz_index(const NpuNzInfo& nz, uint64_t group, uint64_t row, uint64_t col);
// The group whose plain layout starts at byte plain_offset of an NZ buffer; false when no group
// starts there (a batched GEMM's B must start each matrix at a group).
bool nz_group_at(const NpuNzInfo& nz, uint64_t plain_offset, uint64_t* group);
// Bytes of packed storage an NZ buffer holds.
uint64_t nz_storage_bytes(const NpuNzInfo& nz);
// Bytes [offset, offset + bytes) of the plain layout an NZ buffer was packed from, out of its
// packed storage (staged in host memory): the weight's elements, zeros in the gaps between rows
// and groups (their old contents were not kept).
void nz_to_plain(const NpuNzInfo& nz, const std::byte* packed, uint64_t offset, uint64_t bytes, std::byte* out);

// npu_query.cpp
dshal_status query_op(dshal_device device, dshal_op op, const void* desc);

// npu_all_to_all.cpp
dshal_status comm_create(const dshal_device* devices, uint32_t count, dshal_comm* out);
dshal_status comm_destroy(dshal_comm comm);
dshal_status all_to_all(dshal_comm comm, const dshal_all_to_all_desc* desc);

// npu_process_links.cpp: ranks in different processes, one card each.
dshal_status comm_id_create(dshal_device device, dshal_comm_id* out);
dshal_status comm_create_rank(dshal_device device, const dshal_comm_id* id, uint32_t rank, uint32_t size,
                              dshal_comm* out);
// Queues this process's side of an exchange on a communicator with links on the rank's stream.
void enqueue_process_exchange(dshal_comm comm, const dshal_all_to_all_desc& desc);

// npu_dtype.cpp: f16 / bf16 <-> f32, round to nearest even.
float load_element(dshal_dtype dtype, const std::byte* base, uint64_t index);
void store_element(dshal_dtype dtype, std::byte* base, uint64_t index, float value);
inline uint64_t dtype_bytes(dshal_dtype t) { return t == DSHAL_DTYPE_F32 || t == DSHAL_DTYPE_I32 ? 4 : t == DSHAL_DTYPE_U8 || t == DSHAL_DTYPE_FP8_E4M3 ? 1 : 2; }

}  // namespace npu_sim
