// vulkan compute pipelines: the embedded SPIR-V (glslc -mfmt=c output) built once per device
// through a VkPipelineCache persisted on disk, and the dispatch helper that binds storage-buffer
// ranges and push constants.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "vulkan.hpp"

namespace dshal::vulkan {
namespace {

const uint32_t kGemmSpv[] =
#include "gemm.spv.inc"
    ;
const uint32_t kGemmScaleSpv[] =
#include "gemm_scale.spv.inc"
    ;

struct ShaderInfo {
  const char* name;
  const uint32_t* code;
  size_t bytes;
  uint32_t bindings, push_bytes;
};

ShaderInfo shader_info(Shader s) {
  switch (s) {
    case Shader::Gemm: return {"gemm", kGemmSpv, sizeof(kGemmSpv), 3, 80};
    case Shader::GemmScale: return {"gemm_scale", kGemmScaleSpv, sizeof(kGemmScaleSpv), 1, 32};
  }
  return {};
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
  for (Pipeline& p : built_) {
    if (p.pipeline) vkDestroyPipeline(d_->dev, p.pipeline, nullptr);
    if (p.layout) vkDestroyPipelineLayout(d_->dev, p.layout, nullptr);
    if (p.set_layout) vkDestroyDescriptorSetLayout(d_->dev, p.set_layout, nullptr);
  }
  if (cache_) vkDestroyPipelineCache(d_->dev, cache_, nullptr);
}

dshal_status Pipelines::get(Shader shader, const Pipeline** out) {
  std::lock_guard lock(m_);
  Pipeline& p = built_[int(shader)];
  *out = &p;
  if (p.pipeline) return DSHAL_OK;
  const ShaderInfo info = shader_info(shader);
  VkDevice dev = d_->dev;
  std::vector<VkDescriptorSetLayoutBinding> bindings(info.bindings);
  for (uint32_t i = 0; i < info.bindings; ++i)
    bindings[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  auto li = make<VkDescriptorSetLayoutCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO);
  li.bindingCount = info.bindings;
  li.pBindings = bindings.data();
  if (!p.set_layout) DSHAL_VK_RETURN_IF_ERROR(vkCreateDescriptorSetLayout(dev, &li, nullptr, &p.set_layout), "vkCreateDescriptorSetLayout");
  const VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, info.push_bytes};
  auto pli = make<VkPipelineLayoutCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO);
  pli.setLayoutCount = 1;
  pli.pSetLayouts = &p.set_layout;
  pli.pushConstantRangeCount = 1;
  pli.pPushConstantRanges = &push;
  if (!p.layout) DSHAL_VK_RETURN_IF_ERROR(vkCreatePipelineLayout(dev, &pli, nullptr, &p.layout), "vkCreatePipelineLayout");
  auto mi = make<VkShaderModuleCreateInfo>(VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO);
  mi.codeSize = info.bytes;
  mi.pCode = info.code;
  VkShaderModule module = VK_NULL_HANDLE;
  DSHAL_VK_RETURN_IF_ERROR(vkCreateShaderModule(dev, &mi, nullptr, &module), std::string("vkCreateShaderModule(") + info.name + ")");
  auto ci = make<VkComputePipelineCreateInfo>(VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO);
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_COMPUTE_BIT, module, "main", nullptr};
  ci.layout = p.layout;
  const VkResult r = vkCreateComputePipelines(dev, cache_, 1, &ci, nullptr, &p.pipeline);
  vkDestroyShaderModule(dev, module, nullptr);
  if (r != VK_SUCCESS) {
    p.pipeline = VK_NULL_HANDLE;
    return vk_fail(r, std::string("vkCreateComputePipelines(") + info.name + ")");
  }
  log(1, std::string("built pipeline ") + info.name + " on " + d_->info->props.deviceName);
  return DSHAL_OK;
}

dshal_status dispatch(Stream* s, Shader shader, const std::vector<Binding>& bindings, const void* push,
                      uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
  Device* d = s->device;
  const uint64_t limit = d->info->props.limits.maxStorageBufferRange;
  for (const Binding& b : bindings)
    if (b.range > limit)
      return fail(DSHAL_ERROR_UNSUPPORTED, std::to_string(b.range) + " bytes of one operand exceed maxStorageBufferRange (" +
                                               std::to_string(limit) + ") of " + d->info->props.deviceName +
                                               ": operands that large are not supported yet");
  const Pipeline* p = nullptr;
  if (dshal_status st = d->pipelines->get(shader, &p); st != DSHAL_OK) return st;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  if (dshal_status st = record(s, &cmd); st != DSHAL_OK) return st;
  VkDescriptorSet set = VK_NULL_HANDLE;
  if (dshal_status st = descriptor_set(s, p->set_layout, &set); st != DSHAL_OK) return st;
  std::vector<VkDescriptorBufferInfo> infos;
  std::vector<VkWriteDescriptorSet> writes;
  infos.reserve(bindings.size());
  for (uint32_t i = 0; i < bindings.size(); ++i) {
    infos.push_back({bindings[i].buffer->alloc.buffer, bindings[i].offset, bindings[i].range});
    auto w = make<VkWriteDescriptorSet>(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
    w.dstSet = set;
    w.dstBinding = i;
    w.descriptorCount = 1;
    w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w.pBufferInfo = &infos.back();
    writes.push_back(w);
  }
  vkUpdateDescriptorSets(d->dev, uint32_t(writes.size()), writes.data(), 0, nullptr);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, nullptr);
  vkCmdPushConstants(cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  vkCmdDispatch(cmd, gx, gy, gz);
  return DSHAL_OK;
}

}  // namespace dshal::vulkan
