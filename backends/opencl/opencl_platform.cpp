// The inventory: every device of every platform the ICD loader offers, and one context per platform
// (or per device, with DSHAL_OPENCL_CONTEXTS=per-device, which exercises the host-staged paths).
#include <cstdlib>
#include <cstring>

#include "opencl.hpp"

namespace dshal::opencl {
namespace {

std::string device_string(cl_device_id d, cl_device_info what) {
  size_t size = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string s(size, '\0');
  if (clGetDeviceInfo(d, what, size, s.data(), nullptr) != CL_SUCCESS) return {};
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string platform_string(cl_platform_id p, cl_platform_info what) {
  size_t size = 0;
  if (clGetPlatformInfo(p, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string s(size, '\0');
  if (clGetPlatformInfo(p, what, size, s.data(), nullptr) != CL_SUCCESS) return {};
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

template <class T>
T device_value(cl_device_id d, cl_device_info what) {
  T v{};
  if (clGetDeviceInfo(d, what, sizeof(v), &v, nullptr) != CL_SUCCESS) return T{};
  return v;
}

bool per_device_contexts() {
  const char* env = std::getenv("DSHAL_OPENCL_CONTEXTS");
  return env && std::strcmp(env, "per-device") == 0;
}

std::shared_ptr<Context> make_context(cl_platform_id platform, const cl_device_id* ids, cl_uint count, std::string* why) {
  const cl_context_properties props[] = {CL_CONTEXT_PLATFORM, cl_context_properties(platform), 0};
  cl_int err = CL_SUCCESS;
  cl_context c = clCreateContext(props, count, ids, nullptr, nullptr, &err);
  if (err != CL_SUCCESS) {
    *why = std::string("clCreateContext failed: ") + cl_error_name(err);
    return nullptr;
  }
  auto ctx = std::make_shared<Context>();
  ctx->context = c;
  return ctx;
}

Inventory take_inventory() {
  Inventory inv;
  cl_uint platform_count = 0;
  cl_int err = clGetPlatformIDs(0, nullptr, &platform_count);
  if (err != CL_SUCCESS || platform_count == 0) {
    const char* vendors = std::getenv("OCL_ICD_VENDORS");
    inv.unavailable = err == CL_SUCCESS || err == -1001
                          ? std::string("no OpenCL platform: the ICD loader found no driver in ") +
                                (vendors ? vendors : "/etc/OpenCL/vendors") + " (install pocl-opencl-icd for the CPU)"
                          : std::string("clGetPlatformIDs failed: ") + cl_error_name(err);
    return inv;
  }
  std::vector<cl_platform_id> platforms(platform_count);
  clGetPlatformIDs(platform_count, platforms.data(), nullptr);
  std::vector<std::string> problems;
  for (cl_platform_id p : platforms) {
    const std::string pname = platform_string(p, CL_PLATFORM_NAME);
    cl_uint n = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &n) != CL_SUCCESS || n == 0) {
      problems.push_back(pname + ": no devices");
      continue;
    }
    std::vector<cl_device_id> ids(n);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n, ids.data(), nullptr);
    std::string why;
    std::shared_ptr<Context> shared = per_device_contexts() ? nullptr : make_context(p, ids.data(), n, &why);
    if (!per_device_contexts() && !shared) {
      problems.push_back(pname + ": " + why);
      continue;
    }
    for (cl_device_id id : ids) {
      DeviceInfo d;
      d.platform = p;
      d.id = id;
      d.context = shared ? shared : make_context(p, &id, 1, &why);
      if (!d.context) {
        problems.push_back(pname + ": " + why);
        continue;
      }
      d.platform_name = pname;
      d.name = device_string(id, CL_DEVICE_NAME);
      d.vendor = device_string(id, CL_DEVICE_VENDOR);
      d.driver_version = device_string(id, CL_DRIVER_VERSION);
      d.extensions = " " + device_string(id, CL_DEVICE_EXTENSIONS) + " ";
      d.type = device_value<cl_device_type>(id, CL_DEVICE_TYPE);
      d.global_mem = device_value<cl_ulong>(id, CL_DEVICE_GLOBAL_MEM_SIZE);
      d.max_alloc = device_value<cl_ulong>(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
      d.compute_units = device_value<cl_uint>(id, CL_DEVICE_MAX_COMPUTE_UNITS);
      d.base_align_bits = device_value<cl_uint>(id, CL_DEVICE_MEM_BASE_ADDR_ALIGN);
      d.max_work_group = device_value<size_t>(id, CL_DEVICE_MAX_WORK_GROUP_SIZE);
      d.local_mem = device_value<cl_ulong>(id, CL_DEVICE_LOCAL_MEM_SIZE);
      d.unified_memory = device_value<cl_bool>(id, CL_DEVICE_HOST_UNIFIED_MEMORY) == CL_TRUE;
      inv.devices.push_back(std::move(d));
    }
  }
  if (inv.devices.empty()) {
    inv.unavailable = "no usable OpenCL device:";
    for (const std::string& p : problems) inv.unavailable += " " + p + ";";
  }
  return inv;
}

}  // namespace

Context::~Context() {
  if (context) clReleaseContext(context);
}

bool DeviceInfo::has_extension(const char* ext) const {
  // Built with append: GCC 12 warns (-Wrestrict, a false positive) on " " + std::string(ext).
  const std::string padded = std::string(" ").append(ext).append(" ");
  return extensions.find(padded) != std::string::npos;
}

const Inventory& inventory() {
  // Built once: the ICD loader's platforms do not change while a process runs. Never destroyed, so
  // no context is released after the ICD's own static teardown.
  static const Inventory* inv = new Inventory(take_inventory());
  return *inv;
}

}  // namespace dshal::opencl
