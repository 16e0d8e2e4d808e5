// The built-in cuda adapter, as hal sees it: a probe that asks the CUDA runtime for its devices
// (dlopen'ed, so libdshal needs no CUDA library to start) and, only when there is one, loads
// libdshal_cuda.so and negotiates its table. Without a device the runtime's error is the reason
// `dshal devices` prints; in a dshal built without CUDA the reason says so.
#include "registry.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <string>

namespace dshal::detail {
namespace {

#if DSHAL_CUDA_BUILT
void* g_backend = nullptr;  // libdshal_cuda.so, once loaded

// libdshal_cuda.so beside the executable's bin/ (build/lib, <prefix>/lib), else where it was built.
std::string backend_path() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path beside = exe.parent_path().parent_path() / "lib" / "libdshal_cuda.so";
    if (std::filesystem::exists(beside, ec)) return beside.string();
  }
  return DSHAL_CUDA_BACKEND_LIBRARY;
}
#endif

}  // namespace

std::string cuda_probe() {
#if DSHAL_CUDA_BUILT
  void* rt = dlopen(DSHAL_CUDA_RUNTIME_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (!rt) return std::string("cannot load the CUDA runtime: ") + dlerror();
  using CountFn = int (*)(int*);
  using ErrorFn = const char* (*)(int);
  auto count = reinterpret_cast<CountFn>(dlsym(rt, "cudaGetDeviceCount"));
  auto text = reinterpret_cast<ErrorFn>(dlsym(rt, "cudaGetErrorString"));
  if (!count || !text) return "the CUDA runtime lacks cudaGetDeviceCount";
  int n = 0;
  if (const int e = count(&n); e != 0) return std::string("cudaGetDeviceCount: ") + text(e);
  if (n == 0) return "cudaGetDeviceCount: no CUDA device";
  g_backend = dlopen(backend_path().c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!g_backend) return std::string("cannot load libdshal_cuda.so: ") + dlerror();
  return "";
#else
  return DSHAL_CUDA_WHY_NOT;
#endif
}

dshal_status cuda_negotiate(uint32_t min_abi, uint32_t max_abi, const dshal_host_services* host,
                            const dshal_adapter_table** out) {
  *out = nullptr;
#if DSHAL_CUDA_BUILT
  auto entry = g_backend ? reinterpret_cast<dshal_adapter_negotiate_fn>(dlsym(g_backend, "dshal_adapter_negotiate")) : nullptr;
  if (entry) return entry(min_abi, max_abi, host, out);
#endif
  return DSHAL_ERROR_UNAVAILABLE;
}

}  // namespace dshal::detail
