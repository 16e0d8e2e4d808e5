// adapters/npu-sim/npu_transfers.cpp: copies and fill, async on a stream. Each one is a DMA job: the
// stream's worker hands it to the DMA engine (npu_memory.cpp), which opens the card-memory window,
// moves the bytes and closes it. The cost model charges PCIe for host <-> card, HBM within a card
// and the interconnect between cards.
#include <cstring>

#include "npu_sim.hpp"

namespace npu_sim {
namespace {

using Outcome = dshal_stream_s::Outcome;

Outcome timed(WorkResult r, uint64_t ns) { return Outcome{std::move(r), ns}; }

// A prepacked weight is read-only: its bytes are fractals, and a plain write into them would mean
// nothing. (Reads out of it are unpacked: see read_card.)
dshal_status refuse_packed(const char* slot) {
  return fail(DSHAL_ERROR_UNSUPPORTED, std::string(slot) + ": the destination is a weight prepacked into FRACTAL_NZ by "
                                           "prepack_weight; npu-sim does not write into packed weights");
}

// Runs on the DMA engine: bytes [offset, offset + bytes) of src into host memory at out. A plain
// buffer is copied as is; an NZ buffer gives the plain layout it was packed from.
WorkResult read_card(dshal_buffer src, uint64_t offset, uint64_t bytes, std::byte* out) {
  if (src->layout == NpuLayout::plain) {
    const std::byte* from = src->data + offset;
    return dma({{const_cast<std::byte*>(from), bytes, false}}, [=] { std::memcpy(out, from, bytes); });
  }
  std::vector<std::byte> packed;
  WorkResult r = stage_in(src->data, nz_storage_bytes(src->nz), &packed);
  if (r.status == DSHAL_OK) nz_to_plain(src->nz, packed.data(), offset, bytes, out);
  return r;
}

}  // namespace

// Host memory stays valid until the copy completes (the caller's promise); the card window is
// opened for writing only for the destination range.
dshal_status copy_h2d(dshal_stream stream, const void* src, dshal_buffer dst, uint64_t dst_offset, uint64_t bytes) {
  return guarded("copy_h2d", [&] {
    if (dst->layout == NpuLayout::nz) return refuse_packed("copy_h2d");
    stream->enqueue([=] {
      std::byte* to = dst->data + dst_offset;
      return timed(dma({{to, bytes, true}}, [=] { std::memcpy(to, src, bytes); }),
                   cost::host_copy_ns(*stream->device->spec, bytes));
    });
    return DSHAL_OK;
  });
}

dshal_status copy_d2h(dshal_stream stream, dshal_buffer src, uint64_t src_offset, void* dst, uint64_t bytes) {
  return guarded("copy_d2h", [&] {
    stream->enqueue([=] {
      return timed(read_card(src, src_offset, bytes, static_cast<std::byte*>(dst)), cost::host_copy_ns(*stream->device->spec, bytes));
    });
    return DSHAL_OK;
  });
}

// src and dst may be on different cards of this adapter (a peer copy over the interconnect).
dshal_status copy_d2d(dshal_stream stream, dshal_buffer src, uint64_t src_offset, dshal_buffer dst,
                      uint64_t dst_offset, uint64_t bytes) {
  return guarded("copy_d2d", [&] {
    if (dst->layout == NpuLayout::nz) return refuse_packed("copy_d2d");
    stream->enqueue([=] {
      std::byte* to = dst->data + dst_offset;
      const uint64_t ns = cost::card_copy_ns(*stream->device->spec, bytes, src->device->index == dst->device->index);
      if (src->layout == NpuLayout::nz) {  // unpack through host scratch
        std::vector<std::byte> plain(bytes);
        WorkResult r = read_card(src, src_offset, bytes, plain.data());
        if (r.status == DSHAL_OK) r = stage_out_rows(to, plain.data(), 1, bytes, bytes, nullptr);
        return timed(std::move(r), ns);
      }
      std::byte* from = src->data + src_offset;
      return timed(dma({{from, bytes, false}, {to, bytes, true}}, [=] { std::memmove(to, from, bytes); }), ns);
    });
    return DSHAL_OK;
  });
}

// The pattern (1, 2 or 4 bytes) is copied into the work now: the caller's pointer is only valid
// during the call.
dshal_status fill(dshal_stream stream, dshal_buffer dst, uint64_t offset, uint64_t bytes, const void* pattern,
                  uint32_t pattern_bytes) {
  return guarded("fill", [&] {
    if (dst->layout == NpuLayout::nz) return refuse_packed("fill");
    unsigned char value[4] = {};
    std::memcpy(value, pattern, pattern_bytes);
    stream->enqueue([=] {
      std::byte* out = dst->data + offset;
      return timed(dma({{out, bytes, true}},
                       [=] {
                         if (pattern_bytes == 1) {
                           std::memset(out, value[0], bytes);
                           return;
                         }
                         for (uint64_t i = 0; i < bytes; i += pattern_bytes) std::memcpy(out + i, value, pattern_bytes);
                       }),
                   cost::fill_ns(*stream->device->spec, bytes));
    });
    return DSHAL_OK;
  });
}

}  // namespace npu_sim

// ---- kernel staging ----------------------------------------------------------------------------
// Kernels never read card memory in place: like an AI core's memory transfer engines moving tiles
// between global memory and on-chip buffers, they ask the DMA engine to copy operands into host
// scratch and results back out.

namespace npu_sim {

WorkResult stage_in(const std::byte* card, uint64_t bytes, std::vector<std::byte>* scratch) {
  scratch->resize(bytes);
  if (bytes == 0) return {};
  std::byte* to = scratch->data();
  return dma({{const_cast<std::byte*>(card), bytes, false}}, [=] { std::memcpy(to, card, bytes); });
}

WorkResult stage_out_rows(std::byte* card, const std::byte* scratch, uint64_t rows, uint64_t row_pitch_bytes,
                          uint64_t row_bytes, const std::vector<bool>* only) {
  if (rows == 0 || row_bytes == 0) return {};
  const uint64_t span = (rows - 1) * row_pitch_bytes + row_bytes;
  return dma({{card, span, true}}, [=] {
    for (uint64_t r = 0; r < rows; ++r)
      if (!only || (*only)[r]) std::memcpy(card + r * row_pitch_bytes, scratch + r * row_pitch_bytes, row_bytes);
  });
}

}  // namespace npu_sim
