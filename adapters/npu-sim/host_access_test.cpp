// adapters/npu-sim/host_access_test.cpp: proves that npu-sim's card memory is not host memory.
// Loads the plugin through its entry point alone (no hal), writes a pattern into a card buffer with
// copy_h2d and reads it back with copy_d2h (the bytes are there), then has a forked child read the
// buffer's address directly: the child must die of SIGSEGV. A control child reading ordinary host
// memory must exit normally, so the fault is the card memory's doing and not the harness's.
// Usage: npu_sim_host_access_test <path to libdshal_npu_sim.so>
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

#include "npu_sim.hpp"  // the adapter's own handle layout: only this test looks inside a buffer

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  if (!ok) ++failures;
}

// Runs a host read of address in a child process; returns the signal that ended it, or 0.
int child_read_signal(const volatile unsigned char* address) {
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    const unsigned char v = *address;  // the host dereference under test
    _exit(v == 0x5a ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <libdshal_npu_sim.so>\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 2;
  }
  auto negotiate = reinterpret_cast<dshal_adapter_negotiate_fn>(dlsym(lib, DSHAL_ADAPTER_ENTRY_POINT));
  const dshal_adapter_table* t = nullptr;
  dshal_host_services host{sizeof(dshal_host_services), DSHAL_ABI_VERSION, nullptr};
  if (!negotiate || negotiate(DSHAL_ABI_VERSION, DSHAL_ABI_VERSION, &host, &t) != DSHAL_OK) {
    std::fprintf(stderr, "negotiate failed\n");
    return 2;
  }
  dshal_device dev = nullptr;
  dshal_stream stream = nullptr;
  dshal_buffer buf = nullptr;
  const uint64_t bytes = 8192;
  if (t->device_open(0, &dev) != DSHAL_OK || t->stream_create(dev, &stream) != DSHAL_OK ||
      t->buffer_alloc(dev, bytes, &buf) != DSHAL_OK) {
    std::fprintf(stderr, "setup failed: %s\n", t->last_error());
    return 2;
  }

  std::vector<unsigned char> pattern(bytes, 0x5a), back(bytes, 0);
  check(t->copy_h2d(stream, pattern.data(), buf, 0, bytes) == DSHAL_OK &&
            t->copy_d2h(stream, buf, 0, back.data(), bytes) == DSHAL_OK && t->stream_synchronize(stream) == DSHAL_OK,
        "copy_h2d + copy_d2h through the DMA engine succeed");
  check(back == pattern, "the bytes written to the card come back through copy_d2h");

  const volatile unsigned char* card = reinterpret_cast<const unsigned char*>(buf->data);
  const int card_signal = child_read_signal(card);
  std::printf("host read of card address %p ended the child with signal %d (%s)\n", (const void*)card, card_signal,
              card_signal ? strsignal(card_signal) : "none");
  check(card_signal == SIGSEGV, "a host read of card memory faults (SIGSEGV)");
  const int tail_signal = child_read_signal(card + bytes - 1);
  check(tail_signal == SIGSEGV, "a host read of the buffer's last byte faults too");
  const int control_signal = child_read_signal(pattern.data());
  check(control_signal == 0, "control: a host read of host memory does not fault");

  t->buffer_free(buf);
  t->stream_destroy(stream);
  t->device_close(dev);
  t->release();
  std::printf("%s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
