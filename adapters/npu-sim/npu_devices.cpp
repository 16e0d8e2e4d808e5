// adapters/npu-sim/npu_devices.cpp: card discovery, opening and properties. Cards come from the spec
// (npu_spec.cpp); opening a card reserves its memory and starts the shared DMA engine.
#include "npu_sim.hpp"

namespace npu_sim {
namespace {

void copy_string(char* dst, size_t capacity, const std::string& src) {
  const size_t n = src.size() < capacity - 1 ? src.size() : capacity - 1;
  src.copy(dst, n);
  dst[n] = '\0';
}

}  // namespace

// Blocking. A spec that cannot be read makes the adapter unavailable, with the reason (file and
// field) in last_error, which `dshal devices` prints.
dshal_status device_count(uint32_t* count) {
  return guarded("device_count", [&] {
    *count = 0;
    std::string error;
    const Spec* s = spec(&error);
    if (!s) return fail(DSHAL_ERROR_UNAVAILABLE, "npu-sim: " + error);
    *count = s->cards;
    return DSHAL_OK;
  });
}

// Blocking. Reserves the card's memory (address space only) and starts the DMA engine.
dshal_status device_open(uint32_t index, dshal_device* out) {
  return guarded("device_open", [&] {
    *out = nullptr;
    std::string error;
    const Spec* s = spec(&error);
    if (!s) return fail(DSHAL_ERROR_UNAVAILABLE, "npu-sim: " + error);
    NpuHbmPtr hbm = hbm_reserve(index, s->memory_bytes, &error);
    if (!hbm) return fail(DSHAL_ERROR_OUT_OF_MEMORY, "device_open: " + error);
    auto device = std::make_unique<dshal_device_s>(dshal_device_s{index, s, std::move(hbm)});
    dma_engine_acquire();
    *out = device.release();
    return DSHAL_OK;
  });
}

// hal has released every buffer, stream and event of the card: unmap its memory, and stop the DMA
// engine when this was the last open card.
dshal_status device_close(dshal_device device) {
  return guarded("device_close", [&] {
    delete device;
    dma_engine_release();
    return DSHAL_OK;
  });
}

// The spec's numbers, honestly: memory_bytes is the modelled HBM (reserved as address space, only
// written pages use host RAM). gemm_dtypes is the cube's f16 | bf16: hal runs f32 GEMMs on the host.
dshal_status device_get_properties(dshal_device device, dshal_device_properties* props) {
  return guarded("device_get_properties", [&] {
    const Spec& s = *device->spec;
    copy_string(props->name, sizeof(props->name), s.name + " #" + std::to_string(device->index));
    copy_string(props->vendor, sizeof(props->vendor), "dshal project (simulated Ascend-style NPU)");
    copy_string(props->driver_version, sizeof(props->driver_version), "npu-sim 1");
    props->memory_bytes = s.memory_bytes;
    props->max_alloc_bytes = s.memory_bytes;
    props->max_buffer_range = s.memory_bytes;
    props->alignment = kAlignment;
    props->compute_units = s.compute_units;
    props->gemm_dtypes = DSHAL_DTYPE_BIT(DSHAL_DTYPE_F16) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16);
    // Buffers are bytes: every type can be stored and read back, and the ops the card does not run
    // go to hal's host fallback, which knows every type.
    props->storage_dtypes = props->gemm_dtypes | DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_FP8_E4M3) |
                            DSHAL_DTYPE_BIT(DSHAL_DTYPE_INT4) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_I32) |
                            DSHAL_DTYPE_BIT(DSHAL_DTYPE_U8);
    props->flags = 0;  // card memory is not host memory
    return DSHAL_OK;
  });
}

}  // namespace npu_sim
