// vulkan compute pipelines: the embedded SPIR-V (embedded_shaders.cpp) built once per device and
// variant through a VkPipelineCache persisted on disk, and the dispatch helper that passes operands
// as storage-buffer ranges or buffer device addresses.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "vulkan.hpp"

namespace dshal::vulkan {
namespace {

const EmbeddedShader* find_shader(const std::string& name) {
  for (size_t i = 0; i < kEmbeddedShaderCount; ++i)
    if (name == kEmbeddedShaders[i].name) return &kEmbeddedShaders[i];
  return nullptr;
}

// $DSHAL_VULKAN_CACHE_DIR, else $XDG_CACHE_HOME/dshal/vulkan, else ~/.cache/dshal/vulkan.
std::filesystem::path cache_dir() {
  if (const char* d = std::getenv("DSHAL_VULKAN_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "dshal" / "vulkan";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache" / "dshal" / "vulkan";
  return {};
}

// One file per device and driver: the driver checks the header (and pipelineCacheUUID) itself and
// ignores data it cannot use, so a stale file only costs a rebuild.
std::string cache_file(const VkPhysicalDeviceProperties& p) {
  const std::filesystem::path dir = cache_dir();
  if (dir.empty()) return {};
  char name[128];
  std::snprintf(name, sizeof(name), "%04x-%04x-%08x-", p.vendorID, p.deviceID, p.driverVersion);
  std::string file = name;
  for (uint8_t b : p.pipelineCacheUUID) {
    std::snprintf(name, sizeof(name), "%02x", b);
    file += name;
  }
  return (dir / (file + ".bin")).string();
}

}  // namespace

Pipelines::Pipelines(Device* d) : d_(d), cache_path_(cache_file(d->info->props)) {
  std::vector<char> data;
  if (!cache_path_.empty()) {
    std::ifstream in(cache_path_, std::ios::binary);
    if (in) data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto ci = make<VkPipelineCacheCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO);
  ci.initialDataSize = data.size();
  ci.pInitialData = data.empty() ? nullptr : data.data();
  if (vkCreatePipelineCache(d_->dev, &ci, nullptr, &cache_) != VK_SUCCESS) {
    ci.initialDataSize = 0;  // unusable data: start empty
    ci.pInitialData = nullptr;
    if (vkCreatePipelineCache(d_->dev, &ci, nullptr, &cache_) != VK_SUCCESS) cache_ = VK_NULL_HANDLE;
  }
}

Pipelines::~Pipelines() {
  if (cache_ && !cache_path_.empty()) {
    size_t size = 0;
    std::vector<char> data;
    if (vkGetPipelineCacheData(d_->dev, cache_, &size, nullptr) == VK_SUCCESS && size) {
      data.resize(size);
      if (vkGetPipelineCacheData(d_->dev, cache_, &size, data.data()) != VK_SUCCESS) size = 0;
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(cache_path_).parent_path(), ec);
    // Written to a temporary and renamed, so a concurrent reader never sees half a file.
    const std::string tmp = cache_path_ + ".tmp" + std::to_string(reinterpret_cast<uintptr_t>(this));
    if (size && !ec) {
      std::ofstream out(tmp, std::ios::binary);
      out.write(data.data(), std::streamsize(size));
      if (out.good()) {
        out.close();
        std::filesystem::rename(tmp, cache_path_, ec);
      }
      if (ec || !out.good()) std::filesystem::remove(tmp, ec);
    }
  }
  for (auto& [key, p] : built_) {
    if (p.pipeline) vkDestroyPipeline(d_->dev, p.pipeline, nullptr);
    if (p.layout) vkDestroyPipelineLayout(d_->dev, p.layout, nullptr);
    if (p.set_layout) vkDestroyDescriptorSetLayout(d_->dev, p.set_layout, nullptr);
  }
  if (cache_) vkDestroyPipelineCache(d_->dev, cache_, nullptr);
}

dshal_status Pipelines::get(const std::string& shader, int variant, uint32_t bindings, uint32_t texel,
                            const std::vector<uint32_t>& spec, const Pipeline** out) {
  std::string key = shader;
  for (uint32_t v : std::initializer_list<uint32_t>{uint32_t(variant), bindings, texel}) key.append("/").append(std::to_string(v));
  for (uint32_t v : spec) key.append("/").append(std::to_string(v));
  std::lock_guard lock(m_);
  Pipeline& p = built_[key];
  *out = &p;
  if (p.pipeline) return DSHAL_OK;
  if (dshal_status st = build(shader, variant, bindings, texel, spec, &p); st != DSHAL_OK) return st;
  log(1, "built pipeline " + key + " on " + d_->info->props.deviceName);
  return DSHAL_OK;
}

dshal_status Pipelines::build(const std::string& shader, int variant, uint32_t bindings, uint32_t texel,
                              const std::vector<uint32_t>& spec, Pipeline* p) {
  const EmbeddedShader* code = find_shader(shader);
  if (!code) return fail(DSHAL_ERROR_INTERNAL, "no embedded shader named " + shader);
  const bool device_address = variant >= 2;
  VkDevice dev = d_->dev;
  if (!device_address && !p->set_layout) {
    std::vector<VkDescriptorSetLayoutBinding> b(bindings);
    for (uint32_t i = 0; i < bindings; ++i)
      b[i] = {i, texel >> i & 1 ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1,
              VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    auto li = make<VkDescriptorSetLayoutCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO);
    li.bindingCount = bindings;
    li.pBindings = b.data();
    DSHAL_VK_RETURN_IF_ERROR(vkCreateDescriptorSetLayout(dev, &li, nullptr, &p->set_layout), "vkCreateDescriptorSetLayout");
  }
  // The whole push constant space: each shader's block is smaller (dispatch() checks).
  const VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, d_->info->props.limits.maxPushConstantsSize};
  auto pli = make<VkPipelineLayoutCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO);
  pli.setLayoutCount = p->set_layout ? 1 : 0;
  pli.pSetLayouts = &p->set_layout;
  pli.pushConstantRangeCount = 1;
  pli.pPushConstantRanges = &push;
  if (!p->layout) DSHAL_VK_RETURN_IF_ERROR(vkCreatePipelineLayout(dev, &pli, nullptr, &p->layout), "vkCreatePipelineLayout");
  auto mi = make<VkShaderModuleCreateInfo>(VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO);
  mi.codeSize = code->variants[variant].bytes;
  mi.pCode = code->variants[variant].words;
  VkShaderModule module = VK_NULL_HANDLE;
  DSHAL_VK_RETURN_IF_ERROR(vkCreateShaderModule(dev, &mi, nullptr, &module), "vkCreateShaderModule(" + shader + ")");
  std::vector<VkSpecializationMapEntry> entries(spec.size());
  for (uint32_t i = 0; i < spec.size(); ++i) entries[i] = {i, uint32_t(i * sizeof(uint32_t)), sizeof(uint32_t)};
  const VkSpecializationInfo si{uint32_t(spec.size()), entries.data(), spec.size() * sizeof(uint32_t), spec.data()};
  auto ci = make<VkComputePipelineCreateInfo>(VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO);
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_COMPUTE_BIT, module, "main",
              spec.empty() ? nullptr : &si};
  ci.layout = p->layout;
  const VkResult r = vkCreateComputePipelines(dev, cache_, 1, &ci, nullptr, &p->pipeline);
  vkDestroyShaderModule(dev, module, nullptr);
  if (r != VK_SUCCESS) {
    p->pipeline = VK_NULL_HANDLE;
    return vk_fail(r, "vkCreateComputePipelines(" + shader + ")");
  }
  return DSHAL_OK;
}

Bound bind(Stream* s, dshal_buffer buffer, uint64_t offset, uint64_t bytes) {
  const uint64_t align = s->device->info->props.limits.minStorageBufferOffsetAlignment;
  const uint64_t base = offset / align * align;
  // Whole words: the shaders read and write uint words (buffers are allocated in whole words).
  return {{as_buffer(buffer), base, (offset + bytes - base + 3) / 4 * 4}, uint32_t(offset - base)};
}

bool texel_operand_fits(const Device* d, const Binding& b) {
  const VkPhysicalDeviceLimits& lim = d->info->props.limits;
  return b.offset % std::max<uint64_t>(lim.minTexelBufferOffsetAlignment, 16) == 0 && b.range % 16 == 0 &&
         b.range / 16 <= lim.maxTexelBufferElements;
}

dshal_status dispatch(Stream* s, const Dispatch& d) {
  Device* dev = s->device;
  const VkPhysicalDeviceLimits& lim = dev->info->props.limits;
  bool device_address = dev->force_device_address;
  for (uint32_t i = 0; i < d.operands.size(); ++i)
    if (d.texel >> i & 1) {
      if (!texel_operand_fits(dev, d.operands[i]))
        return fail(DSHAL_ERROR_INTERNAL, std::string(d.shader) + ": operand " + std::to_string(i) + " does not fit a texel view");
    } else {
      device_address |= d.operands[i].range > lim.maxStorageBufferRange;
    }
  if (device_address && d.texel)
    return fail(DSHAL_ERROR_INTERNAL, std::string(d.shader) + ": texel operands have no device-address form");
  if (device_address && !dev->device_address)
    return fail(DSHAL_ERROR_UNSUPPORTED, std::string(d.shader) + ": an operand is larger than maxStorageBufferRange (" +
                                             std::to_string(lim.maxStorageBufferRange) + ") of " +
                                             dev->info->props.deviceName + ", which has no bufferDeviceAddress");
  const uint32_t n = uint32_t(d.operands.size());
  uint8_t push[256];
  if (d.push_bytes > std::min<uint32_t>(lim.maxPushConstantsSize, sizeof(push)) || d.push_bytes < 8 * n || n > 8)
    return fail(DSHAL_ERROR_INTERNAL, std::string(d.shader) + ": " + std::to_string(d.push_bytes) + " bytes of push constants for " +
                                          std::to_string(n) + " operands (limit " + std::to_string(lim.maxPushConstantsSize) + ")");
  for (int i = 0; i < 3; ++i)
    if (d.groups[i] > lim.maxComputeWorkGroupCount[i])
      return fail(DSHAL_ERROR_UNSUPPORTED, std::string(d.shader) + ": " + std::to_string(d.groups[i]) +
                                               " workgroups exceed maxComputeWorkGroupCount[" + std::to_string(i) + "] (" +
                                               std::to_string(lim.maxComputeWorkGroupCount[i]) + ")");
  const int variant = (device_address ? 2 : 0) + (dev->small_storage ? 1 : 0);
  const Pipeline* p = nullptr;
  if (dshal_status st = dev->pipelines->get(d.shader, variant, n, d.texel, d.spec, &p); st != DSHAL_OK) return st;
  std::memcpy(push, d.push, d.push_bytes);
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t address = device_address ? d.operands[i].buffer->alloc.address + d.operands[i].offset : 0;
    std::memcpy(push + 8 * i, &address, 8);  // uvec2: low word first, as little-endian uint64
  }
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  if (dshal_status st = record(s, &cmd); st != DSHAL_OK) return st;
  if (!device_address) {
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (dshal_status st = descriptor_set(s, p->set_layout, &set); st != DSHAL_OK) return st;
    VkDescriptorBufferInfo infos[8];
    VkBufferView views[8];
    VkWriteDescriptorSet writes[8];
    for (uint32_t i = 0; i < n; ++i) {
      const Binding& b = d.operands[i];
      writes[i] = make<VkWriteDescriptorSet>(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
      writes[i].dstSet = set;
      writes[i].dstBinding = i;
      writes[i].descriptorCount = 1;
      if (d.texel >> i & 1) {
        auto vi = make<VkBufferViewCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO);
        vi.buffer = b.buffer->alloc.buffer;
        vi.format = VK_FORMAT_R32G32B32A32_SFLOAT;
        vi.offset = b.offset;
        vi.range = b.range;
        DSHAL_VK_RETURN_IF_ERROR(vkCreateBufferView(dev->dev, &vi, nullptr, &views[i]), "vkCreateBufferView");
        s->open.views.push_back(views[i]);
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
        writes[i].pTexelBufferView = &views[i];
      } else {
        infos[i] = {b.buffer->alloc.buffer, b.offset, b.range};
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &infos[i];
      }
    }
    vkUpdateDescriptorSets(dev->dev, n, writes, 0, nullptr);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, nullptr);
  }
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
  vkCmdPushConstants(cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, d.push_bytes, push);
  vkCmdDispatch(cmd, d.groups[0], d.groups[1], d.groups[2]);
  return DSHAL_OK;
}

}  // namespace dshal::vulkan
