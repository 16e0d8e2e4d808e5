// The instance and the inventory: one VkInstance per process (with the Khronos validation layer and
// a debug messenger when DSHAL_VULKAN_VALIDATION=1), and every physical device of Vulkan 1.2 or
// later with a compute queue family (timeline semaphores are core from 1.2).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "vulkan.hpp"

namespace dshal::vulkan {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

bool validation_requested() {
  const char* env = std::getenv("DSHAL_VULKAN_VALIDATION");
  return env && std::strcmp(env, "0") != 0 && *env;
}

bool layer_present(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  for (const VkLayerProperties& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                          VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT* data,
                                          void*) {
  const char* kind = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning";
  note_validation_message(std::string(kind) + ": " + (data && data->pMessage ? data->pMessage : "(no message)"));
  return VK_FALSE;  // the call goes on: the message is reported by the next synchronize
}

VkDebugUtilsMessengerCreateInfoEXT messenger_info() {
  auto info = make<VkDebugUtilsMessengerCreateInfoEXT>(VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT);
  info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  info.pfnUserCallback = on_message;
  return info;
}

void describe(PhysicalDevice* d) {
  vkGetPhysicalDeviceProperties(d->handle, &d->props);
  auto drv = make<VkPhysicalDeviceDriverProperties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES);
  auto m3 = make<VkPhysicalDeviceMaintenance3Properties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, &drv);
  auto p2 = make<VkPhysicalDeviceProperties2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &m3);
  vkGetPhysicalDeviceProperties2(d->handle, &p2);
  d->driver = std::string(drv.driverName) + " " + drv.driverInfo;
  vkGetPhysicalDeviceMemoryProperties(d->handle, &d->memory);
  for (uint32_t h = 0; h < d->memory.memoryHeapCount; ++h)
    if (d->memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      d->heap_bytes = std::max<uint64_t>(d->heap_bytes, d->memory.memoryHeaps[h].size);
  d->max_alloc = std::min<uint64_t>(m3.maxMemoryAllocationSize, d->heap_bytes);
}

Inventory take_inventory() {
  Inventory inv;
  uint32_t loader_version = VK_API_VERSION_1_0;
  if (vkEnumerateInstanceVersion(&loader_version) != VK_SUCCESS || loader_version < VK_API_VERSION_1_2) {
    inv.unavailable = "the Vulkan loader offers only version " + std::to_string(VK_API_VERSION_MAJOR(loader_version)) +
                      "." + std::to_string(VK_API_VERSION_MINOR(loader_version)) + "; dshal needs 1.2";
    return inv;
  }
  const bool validation = validation_requested();
  if (validation && !layer_present(kValidationLayer)) {
    inv.unavailable = std::string("DSHAL_VULKAN_VALIDATION is set but ") + kValidationLayer +
                      " is not installed (apt-get install vulkan-validationlayers)";
    return inv;
  }
  auto app = make<VkApplicationInfo>(VK_STRUCTURE_TYPE_APPLICATION_INFO);
  app.pApplicationName = "dshal";
  app.pEngineName = "dshal";
  app.apiVersion = std::min<uint32_t>(loader_version, VK_API_VERSION_1_3);
  auto ci = make<VkInstanceCreateInfo>(VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO);
  ci.pApplicationInfo = &app;
  const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  const VkDebugUtilsMessengerCreateInfoEXT mi = messenger_info();
  if (validation) {
    ci.enabledLayerCount = 1;
    ci.ppEnabledLayerNames = &kValidationLayer;
    ci.enabledExtensionCount = 1;
    ci.ppEnabledExtensionNames = &ext;
    ci.pNext = &mi;  // also covers vkCreateInstance / vkDestroyInstance themselves
  }
  const VkResult r = vkCreateInstance(&ci, nullptr, &inv.instance);
  if (r != VK_SUCCESS) {
    inv.unavailable = r == VK_ERROR_INCOMPATIBLE_DRIVER
                          ? "no Vulkan driver: the loader found no ICD (install mesa-vulkan-drivers for lavapipe on the CPU)"
                          : "vkCreateInstance failed (VkResult " + std::to_string(int(r)) + ")";
    inv.instance = VK_NULL_HANDLE;
    return inv;
  }
  if (validation) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(inv.instance, "vkCreateDebugUtilsMessengerEXT"));
    VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;  // lives as long as the instance: never destroyed
    if (!create || create(inv.instance, &mi, nullptr, &messenger) != VK_SUCCESS) {
      inv.unavailable = "vkCreateDebugUtilsMessengerEXT failed: validation messages could not be caught";
      return inv;
    }
  }
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(inv.instance, &n, nullptr);
  std::vector<VkPhysicalDevice> handles(n);
  vkEnumeratePhysicalDevices(inv.instance, &n, handles.data());
  std::vector<std::string> problems;
  for (VkPhysicalDevice h : handles) {
    PhysicalDevice d;
    d.handle = h;
    describe(&d);
    const std::string name = d.props.deviceName;
    if (d.props.apiVersion < VK_API_VERSION_1_2) {
      problems.push_back(name + ": Vulkan " + std::to_string(VK_API_VERSION_MINOR(d.props.apiVersion)) + ".x < 1.2");
      continue;
    }
    uint32_t families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(h, &families, nullptr);
    std::vector<VkQueueFamilyProperties> fam(families);
    vkGetPhysicalDeviceQueueFamilyProperties(h, &families, fam.data());
    bool found = false;
    for (uint32_t f = 0; f < families && !found; ++f)
      if (fam[f].queueFlags & VK_QUEUE_COMPUTE_BIT) {
        d.family = f;
        found = true;
      }
    if (!found) {
      problems.push_back(name + ": no compute queue family");
      continue;
    }
    inv.devices.push_back(d);
  }
  if (inv.devices.empty()) {
    inv.unavailable = n == 0 ? "the Vulkan loader found no physical device (install mesa-vulkan-drivers for lavapipe)"
                             : "no usable Vulkan device:";
    for (const std::string& p : problems) inv.unavailable += " " + p + ";";
  }
  return inv;
}

}  // namespace

const Inventory& inventory() {
  // Built once and never destroyed: the instance outlives every device, and is not torn down
  // after the ICD's own static destructors.
  static const Inventory* inv = new Inventory(take_inventory());
  return *inv;
}

}  // namespace dshal::vulkan
