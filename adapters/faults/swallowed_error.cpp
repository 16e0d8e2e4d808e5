// adapters/faults/swallowed_error.cpp: fault-swallowed-error, a stream_synchronize that waits for the
// queue but never looks at its error status (`cuStreamSynchronize(s); return OK;`), so an error in
// queued work is lost. Caught by core/Streams.QueuedErrorIsReportedOnce.
//
// A wrapper alone cannot show this fault: the template's queued work never fails on input hal
// accepts, so there is no queued error to lose. The plugin therefore also runs embedding natively
// (correctly: its ids live in device memory and are checked when the work runs, as a device kernel
// checks them, and a bad id becomes the queued work's INVALID_ARGUMENT through the template's
// queue); that gives the queue a real error, which the faulty synchronize then swallows.
#include <cstring>

#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

using dshal_template::WorkResult;

uint64_t element_bytes(dshal_dtype t) { return t == DSHAL_DTYPE_F32 ? 4 : 2; }

// Native for same-type f32 / f16 / bf16 tables (plain row copies); the rest goes to hal's fallback.
dshal_status query_op(dshal_device, dshal_op op, const void* desc) {
  if (op == DSHAL_OP_GEMM) return DSHAL_OK;  // the template's GEMM, as without query_op
  if (op != DSHAL_OP_EMBEDDING) return DSHAL_ERROR_UNSUPPORTED;
  const auto* d = static_cast<const dshal_embedding_desc*>(desc);
  const bool plain = d->table.dtype == DSHAL_DTYPE_F32 || d->table.dtype == DSHAL_DTYPE_F16 ||
                     d->table.dtype == DSHAL_DTYPE_BF16;
  return plain && d->out.dtype == d->table.dtype ? DSHAL_OK : DSHAL_ERROR_UNSUPPORTED;
}

// Async: every id is checked on the stream's worker before anything is written.
dshal_status embedding(dshal_stream stream, const dshal_embedding_desc* desc) {
  return dshal_template::guarded("embedding", [&] {
    const dshal_embedding_desc d = *desc;
    stream->enqueue([d] {
      const std::byte* ids = d.ids.buffer->data + d.ids.offset;
      for (uint64_t t = 0; t < d.tokens; ++t) {
        int32_t id;
        std::memcpy(&id, ids + 4 * t, 4);
        if (id < 0 || uint64_t(id) >= d.vocab)
          return WorkResult{DSHAL_ERROR_INVALID_ARGUMENT, "embedding: ids[" + std::to_string(t) + "] = " +
                                                              std::to_string(id) + " is outside [0, vocab = " +
                                                              std::to_string(d.vocab) + ")"};
      }
      const uint64_t elem = element_bytes(d.out.dtype), row_bytes = d.hidden * elem;
      for (uint64_t t = 0; t < d.tokens; ++t) {
        int32_t id;
        std::memcpy(&id, ids + 4 * t, 4);
        std::memcpy(d.out.buffer->data + d.out.offset + t * d.out.ld * elem,
                    d.table.buffer->data + d.table.offset + uint64_t(id) * d.table.ld * elem, row_bytes);
      }
      return WorkResult{};
    });
    return DSHAL_OK;
  });
}

// The fault: the queue is drained, its first error dropped.
dshal_status synchronize_swallowing(dshal_stream stream) {
  dshal_template::table().stream_synchronize(stream);
  dshal_template::clear_error();
  return DSHAL_OK;
}

dshal_adapter_table make_table() {
  dshal_adapter_table t = derived_table("fault-swallowed-error",
                                        "fault plugin: the template with a stream_synchronize that drops queued errors");
  t.query_op = query_op;
  t.embedding = embedding;
  t.stream_synchronize = synchronize_swallowing;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
