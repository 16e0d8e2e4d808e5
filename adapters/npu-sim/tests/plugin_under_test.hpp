// adapters/npu-sim/tests/plugin_under_test.hpp: what npu-sim's own tests share: they load the plugin
// through its entry point alone (no hal, as a vendor's bring-up test would), open card 0 and a
// stream, and count failed checks. Nothing hal validates is in between, so the tests keep to calls
// hal would let through, except where they say otherwise.
#pragma once

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include <dshal/adapter.h>

namespace npu_sim_test {

inline int failures = 0;

inline void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  if (!ok) ++failures;
}

// The plugin's table, card 0 and a stream on it; exits 2 (a setup error, not a test failure) when
// any of that cannot be had.
struct Plugin {
  const dshal_adapter_table* t = nullptr;
  dshal_device dev = nullptr;
  dshal_stream stream = nullptr;

  explicit Plugin(const char* library) {
    void* lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!lib) setup_failed("cannot load the plugin", dlerror());
    auto negotiate = reinterpret_cast<dshal_adapter_negotiate_fn>(dlsym(lib, DSHAL_ADAPTER_ENTRY_POINT));
    const dshal_host_services host{sizeof(dshal_host_services), DSHAL_ABI_VERSION, nullptr};
    if (!negotiate || negotiate(DSHAL_ABI_VERSION, DSHAL_ABI_VERSION, &host, &t) != DSHAL_OK)
      setup_failed("negotiate failed", library);
    if (t->device_open(0, &dev) != DSHAL_OK || t->stream_create(dev, &stream) != DSHAL_OK)
      setup_failed("cannot open card 0 and a stream", t->last_error());
  }
  ~Plugin() {
    t->stream_destroy(stream);
    t->device_close(dev);
    t->release();
  }

  [[noreturn]] static void setup_failed(const char* what, const char* detail) {
    std::fprintf(stderr, "setup: %s: %s\n", what, detail ? detail : "");
    std::exit(2);
  }
};

// The exit status of a test program: prints the verdict.
inline int verdict() {
  std::printf("%s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}

}  // namespace npu_sim_test
