// vulkan devices: one VkDevice with one compute queue per opened device, memory types for buffers
// (device-local first) and staging (host-visible, coherent), and properties from the physical device.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "vulkan.hpp"

namespace dshal::vulkan {

namespace {

std::string vendor_name(uint32_t id) {
  const char* name = "unknown vendor";
  switch (id) {
    case 0x1002: name = "AMD"; break;
    case 0x10de: name = "NVIDIA"; break;
    case 0x8086: name = "Intel"; break;
    case 0x13b5: name = "ARM"; break;
    case 0x5143: name = "Qualcomm"; break;
    case 0x10005: name = "Mesa"; break;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s (0x%x)", name, id);
  return buf;
}

// The first memory type with all of `want` (falling back to `fallback`), or UINT32_MAX.
uint32_t pick_type(const VkPhysicalDeviceMemoryProperties& mp, VkMemoryPropertyFlags want, VkMemoryPropertyFlags fallback) {
  for (VkMemoryPropertyFlags flags : {want, fallback})
    for (uint32_t t = 0; t < mp.memoryTypeCount; ++t)
      if ((mp.memoryTypes[t].propertyFlags & flags) == flags) return t;
  return UINT32_MAX;
}

}  // namespace

Device::~Device() {
  pipelines.reset();
  if (dev) vkDestroyDevice(dev, nullptr);
}

dshal_status allocate(Device* d, uint64_t size, bool staging, Allocation* out) {
  *out = Allocation{};
  if (size > d->info->max_alloc)
    return fail(DSHAL_ERROR_OUT_OF_MEMORY, std::to_string(size) + " bytes exceed the largest allocation of " +
                                               d->info->props.deviceName + " (" + std::to_string(d->info->max_alloc) + ")");
  auto bi = make<VkBufferCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
  bi.size = (size + 3) / 4 * 4;  // whole uint words: shaders read and write words
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
             VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  // Staging too: the status words are host-visible and a shader operand.
  if (d->device_address) bi.usage |= VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  Allocation a;
  DSHAL_VK_RETURN_IF_ERROR(vkCreateBuffer(d->dev, &bi, nullptr, &a.buffer), "vkCreateBuffer(" + std::to_string(size) + " bytes)");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(d->dev, a.buffer, &req);
  const uint32_t type = staging ? d->staging_type : d->device_type;
  if (!(req.memoryTypeBits & (1u << type))) {
    vkDestroyBuffer(d->dev, a.buffer, nullptr);
    return fail(DSHAL_ERROR_INTERNAL, "the buffer's memory requirements exclude memory type " + std::to_string(type));
  }
  auto flags = make<VkMemoryAllocateFlagsInfo>(VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO);
  flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
  auto ai = make<VkMemoryAllocateInfo>(VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                       d->device_address ? &flags : nullptr);
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  VkResult r = vkAllocateMemory(d->dev, &ai, nullptr, &a.memory);
  if (r == VK_SUCCESS) r = vkBindBufferMemory(d->dev, a.buffer, a.memory, 0);
  // Staging is always mapped; device memory too where it is host-coherent (lavapipe, integrated
  // GPUs), so host copies reach it without a staging hop (vulkan_transfer.cpp).
  if (r == VK_SUCCESS && (staging || d->device_memory_mapped)) r = vkMapMemory(d->dev, a.memory, 0, VK_WHOLE_SIZE, 0, &a.mapped);
  if (r == VK_SUCCESS && d->device_address) {
    auto info = make<VkBufferDeviceAddressInfo>(VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO);
    info.buffer = a.buffer;
    a.address = vkGetBufferDeviceAddress(d->dev, &info);
  }
  if (r != VK_SUCCESS) {
    release(d, &a);
    return vk_fail(r, "allocating " + std::to_string(size) + " bytes of " + (staging ? "staging" : "device") + " memory");
  }
  *out = a;
  return DSHAL_OK;
}

void release(Device* d, Allocation* a) {
  if (a->buffer) vkDestroyBuffer(d->dev, a->buffer, nullptr);
  if (a->memory) vkFreeMemory(d->dev, a->memory, nullptr);  // unmaps too
  *a = Allocation{};
}

dshal_status device_count(uint32_t* count) {
  *count = 0;
  return guarded([&] {
    const Inventory& inv = inventory();
    if (inv.devices.empty()) return fail(DSHAL_ERROR_UNAVAILABLE, inv.unavailable);
    *count = uint32_t(inv.devices.size());
    return DSHAL_OK;
  });
}

dshal_status device_open(uint32_t index, dshal_device* out) {
  *out = nullptr;
  return guarded([&] {
    const Inventory& inv = inventory();
    if (index >= inv.devices.size())
      return fail(DSHAL_ERROR_NOT_FOUND, "vulkan:" + std::to_string(index) + " does not exist (" +
                                             std::to_string(inv.devices.size()) + " devices)");
    auto d = std::make_unique<Device>();
    d->info = &inv.devices[index];
    const float priority = 1.0f;
    auto qi = make<VkDeviceQueueCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO);
    qi.queueFamilyIndex = d->info->family;
    qi.queueCount = 1;
    qi.pQueuePriorities = &priority;
    // Optional features the shaders use when present (shaders/bind.glsl): device addresses for
    // operands past maxStorageBufferRange, 16/8-bit storage for direct f16/bf16/fp8/int4 access.
    auto have12 = make<VkPhysicalDeviceVulkan12Features>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES);
    auto have11 = make<VkPhysicalDeviceVulkan11Features>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &have12);
    auto have = make<VkPhysicalDeviceFeatures2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &have11);
    vkGetPhysicalDeviceFeatures2(d->info->handle, &have);
    d->device_address = have12.bufferDeviceAddress;
    d->small_storage = have11.storageBuffer16BitAccess && have12.storageBuffer8BitAccess && have12.shaderInt8 &&
                       have.features.shaderInt16;
    // DSHAL_VULKAN_OPERANDS=addresses passes every operand by device address, =words (or
    // addresses-words) also leaves 16/8-bit storage off: the tests run the suite through the
    // variants lavapipe would otherwise never pick.
    if (const char* v = std::getenv("DSHAL_VULKAN_OPERANDS"); v && *v) {
      const std::string mode = v;
      if (mode != "addresses" && mode != "words" && mode != "addresses-words")
        return fail(DSHAL_ERROR_INVALID_ARGUMENT, "DSHAL_VULKAN_OPERANDS=" + mode + ": expected addresses, words or addresses-words");
      d->force_device_address = mode.rfind("addresses", 0) == 0;
      if (d->force_device_address && !d->device_address)
        return fail(DSHAL_ERROR_UNSUPPORTED, "DSHAL_VULKAN_OPERANDS=" + mode + ": " + d->info->props.deviceName +
                                                 " has no bufferDeviceAddress");
      if (mode.find("words") != std::string::npos) d->small_storage = false;
    }
    auto f12 = make<VkPhysicalDeviceVulkan12Features>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES);
    f12.timelineSemaphore = VK_TRUE;
    f12.bufferDeviceAddress = d->device_address;
    f12.storageBuffer8BitAccess = f12.shaderInt8 = d->small_storage;
    auto f11 = make<VkPhysicalDeviceVulkan11Features>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12);
    f11.storageBuffer16BitAccess = d->small_storage;
    auto f = make<VkPhysicalDeviceFeatures2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f11);
    f.features.shaderInt16 = d->small_storage;
    auto di = make<VkDeviceCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &f);
    di.queueCreateInfoCount = 1;
    di.pQueueCreateInfos = &qi;
    DSHAL_VK_RETURN_IF_ERROR(vkCreateDevice(d->info->handle, &di, nullptr, &d->dev),
                             std::string("vkCreateDevice(") + d->info->props.deviceName + ")");
    vkGetDeviceQueue(d->dev, d->info->family, 0, &d->queue);
    const VkPhysicalDeviceMemoryProperties& mp = d->info->memory;
    d->device_type = pick_type(mp, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    d->staging_type = pick_type(mp, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    constexpr VkMemoryPropertyFlags kHostCoherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    d->device_memory_mapped = d->device_type != UINT32_MAX &&
                              (mp.memoryTypes[d->device_type].propertyFlags & kHostCoherent) == kHostCoherent;
    if (d->staging_type == UINT32_MAX)
      return fail(DSHAL_ERROR_UNAVAILABLE, std::string(d->info->props.deviceName) + " has no host-visible coherent memory");
    d->pipelines = std::make_unique<Pipelines>(d.get());
    *out = reinterpret_cast<dshal_device>(d.release());
    return DSHAL_OK;
  });
}

dshal_status device_close(dshal_device device) {
  Device* d = as_device(device);
  vkDeviceWaitIdle(d->dev);
  delete d;
  return DSHAL_OK;
}

dshal_status device_get_properties(dshal_device device, dshal_device_properties* p) {
  return guarded([&] {
    const PhysicalDevice& info = *as_device(device)->info;
    const VkPhysicalDeviceLimits& lim = info.props.limits;
    const uint32_t size = p->struct_size;
    *p = dshal_device_properties{};
    p->struct_size = size;
    backend::copy_str(p->name, sizeof(p->name), info.props.deviceName);
    backend::copy_str(p->vendor, sizeof(p->vendor), vendor_name(info.props.vendorID));
    backend::copy_str(p->driver_version, sizeof(p->driver_version), info.driver);
    p->memory_bytes = info.heap_bytes;
    p->max_alloc_bytes = info.max_alloc;
    // Past maxStorageBufferRange shaders take operands by device address (vulkan_pipeline.cpp).
    p->max_buffer_range = as_device(device)->device_address ? info.max_alloc : lim.maxStorageBufferRange;
    // Each buffer has its own VkDeviceMemory at offset 0; shaders bind ranges from offsets rounded
    // down to minStorageBufferOffsetAlignment, so promise at least that.
    p->alignment = uint32_t(std::max<VkDeviceSize>(lim.minStorageBufferOffsetAlignment, 16));
    p->compute_units = 1;
    // f16 and bf16 are read and written directly with 16-bit storage, else as halves of uint words;
    // every type accumulates in f32.
    p->gemm_dtypes = DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_F16) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16);
    p->storage_dtypes = p->gemm_dtypes | DSHAL_DTYPE_BIT(DSHAL_DTYPE_FP8_E4M3) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_INT4) |
                        DSHAL_DTYPE_BIT(DSHAL_DTYPE_I32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_U8);
    p->flags = 0;
    return DSHAL_OK;
  });
}

}  // namespace dshal::vulkan
