// Programs: each embedded .cl file is built once per device, through an on-disk cache of program
// binaries. The cache key is the device, its driver, the source and the build options, so a new
// driver or an edited kernel never loads a stale binary.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "opencl.hpp"

namespace dshal::opencl {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "dshal-opencl-program-v1";

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// DSHAL_OPENCL_CACHE_DIR, else $XDG_CACHE_HOME/dshal/opencl, else ~/.cache/dshal/opencl; empty
// (no cache) when DSHAL_OPENCL_CACHE_DIR is "off" or there is no home.
fs::path cache_dir() {
  if (const char* dir = std::getenv("DSHAL_OPENCL_CACHE_DIR"); dir && *dir)
    return std::string(dir) == "off" ? fs::path() : fs::path(dir);
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "dshal" / "opencl";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "dshal" / "opencl";
  return {};
}

std::string build_options(const DeviceInfo& info) {
  std::string o = "-cl-std=CL1.2";
  if (info.has_extension("cl_khr_fp16")) o += " -DDSHAL_HAS_FP16=1";
  if (const char* extra = std::getenv("DSHAL_OPENCL_BUILD_OPTIONS"); extra && *extra) o += std::string(" ") + extra;
  return o;
}

std::string device_version(cl_device_id id) {
  char buf[256] = {};
  clGetDeviceInfo(id, CL_DEVICE_VERSION, sizeof(buf) - 1, buf, nullptr);
  return buf;
}

std::string build_log(cl_program program, cl_device_id device) {
  size_t size = 0;
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
  std::string log(size, '\0');
  if (size) clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  return log;
}

// The cached binary at path for exactly this key, or empty.
std::string read_cached(const fs::path& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string magic, stored_key;
  if (!std::getline(in, magic) || magic != kMagic || !std::getline(in, stored_key) || stored_key != key) return {};
  std::ostringstream body;
  body << in.rdbuf();
  return body.str();
}

// Written to a temporary name and renamed, so concurrent processes never see half a file.
void write_cached(const fs::path& path, const std::string& key, const std::string& binary) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) return;
    out << kMagic << '\n' << key << '\n';
    out.write(binary.data(), std::streamsize(binary.size()));
    if (!out) {
      fs::remove(tmp, ec);
      return;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    log(2, "could not store the program cache file " + path.string() + ": " + ec.message());
    fs::remove(tmp, ec);
  }
}

std::string program_binary(cl_program program) {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof(size), &size, nullptr) != CL_SUCCESS || size == 0) return {};
  std::string binary(size, '\0');
  unsigned char* ptr = reinterpret_cast<unsigned char*>(binary.data());
  if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof(ptr), &ptr, nullptr) != CL_SUCCESS) return {};
  return binary;
}

}  // namespace

ProgramCache::ProgramCache(const Device* device) : device_(device) {}

ProgramCache::~ProgramCache() {
  for (auto& [name, slot] : kernels_) clReleaseKernel(slot.kernel);
  for (auto& [name, program] : programs_) clReleaseProgram(program);
}

dshal_status ProgramCache::build(const std::string& file, cl_program* out) {
  const EmbeddedSource* src = find_embedded_source(file);
  if (!src) return fail(DSHAL_ERROR_INTERNAL, "no embedded OpenCL kernel file " + file);
  const DeviceInfo& info = *device_->info;
  const std::string options = build_options(info);
  const std::string source = src->text;
  const std::string key = info.platform_name + "|" + info.name + "|" + device_version(info.id) + "|" +
                          info.driver_version + "|" + hex(fnv1a(source)) + "|" + options;
  const fs::path dir = cache_dir();
  const fs::path path = dir.empty() ? fs::path() : dir / (fs::path(file).stem().string() + "-" + hex(fnv1a(key)) + ".bin");
  cl_context ctx = device_->context();
  cl_device_id dev = info.id;

  if (!path.empty()) {
    const std::string binary = read_cached(path, key);
    if (!binary.empty()) {
      const unsigned char* ptr = reinterpret_cast<const unsigned char*>(binary.data());
      const size_t size = binary.size();
      cl_int status = CL_SUCCESS, err = CL_SUCCESS;
      cl_program p = clCreateProgramWithBinary(ctx, 1, &dev, &size, &ptr, &status, &err);
      if (err == CL_SUCCESS && status == CL_SUCCESS && clBuildProgram(p, 1, &dev, options.c_str(), nullptr, nullptr) == CL_SUCCESS) {
        ++loaded_;
        log(0, "loaded " + file + " for " + info.name + " from " + path.string());
        *out = p;
        return DSHAL_OK;
      }
      if (p) clReleaseProgram(p);
      log(2, "ignoring the unusable program cache file " + path.string());
    }
  }

  const auto start = std::chrono::steady_clock::now();
  log(1, "compiling " + file + " for " + info.name + " (" + options + ")");
  const char* text = source.c_str();
  cl_int err = CL_SUCCESS;
  cl_program p = clCreateProgramWithSource(ctx, 1, &text, nullptr, &err);
  if (err != CL_SUCCESS) return cl_fail(err, "clCreateProgramWithSource(" + file + ")");
  err = clBuildProgram(p, 1, &dev, options.c_str(), nullptr, nullptr);
  if (err != CL_SUCCESS) {
    const std::string log_text = build_log(p, dev);
    clReleaseProgram(p);
    return fail(DSHAL_ERROR_DEVICE, "building OpenCL kernels " + file + " for " + info.name + " with options '" + options +
                                        "' failed (" + cl_error_name(err) + "); compiler log:\n" + log_text);
  }
  ++compiled_;
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  log(1, "compiled " + file + " in " + std::to_string(int(ms)) + " ms" + (path.empty() ? "" : "; cached as " + path.string()));
  if (!path.empty()) write_cached(path, key, program_binary(p));
  *out = p;
  return DSHAL_OK;
}

dshal_status ProgramCache::kernel(const std::string& file, const std::string& name, cl_kernel* out, std::mutex** lock) {
  std::lock_guard guard(m_);
  const std::string id = file + ":" + name;
  if (auto it = kernels_.find(id); it != kernels_.end()) {
    *out = it->second.kernel;
    *lock = it->second.lock.get();
    return DSHAL_OK;
  }
  auto pit = programs_.find(file);
  if (pit == programs_.end()) {
    cl_program p = nullptr;
    if (dshal_status st = build(file, &p); st != DSHAL_OK) return st;
    pit = programs_.emplace(file, p).first;
  }
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(pit->second, name.c_str(), &err);
  if (err != CL_SUCCESS) return cl_fail(err, "clCreateKernel(" + id + ")");
  KernelSlot& slot = kernels_[id];
  slot.kernel = k;
  slot.lock = std::make_unique<std::mutex>();
  *out = k;
  *lock = slot.lock.get();
  return DSHAL_OK;
}

}  // namespace dshal::opencl
