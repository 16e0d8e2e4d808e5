// adapters/npu-sim/tests/host_access_test.cpp: proves that npu-sim's card memory is not host memory.
// Writes a pattern into a card buffer with copy_h2d and reads it back with copy_d2h (the DMA path
// works), then has forked children read the buffer's address directly: each must die of SIGSEGV
// (a death test). A control child reading ordinary host memory must exit normally, so the fault is
// the card memory's doing and not the harness's.
// Usage: npu_sim_host_access_test <path to libdshal_npu_sim.so>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <vector>

#include "../npu_sim.hpp"  // the adapter's own handle layout: only this test looks inside a buffer
#include "plugin_under_test.hpp"

namespace {

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
  using npu_sim_test::check;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <libdshal_npu_sim.so>\n", argv[0]);
    return 2;
  }
  npu_sim_test::Plugin p(argv[1]);
  const uint64_t bytes = 8192;
  dshal_buffer buf = nullptr;
  if (p.t->buffer_alloc(p.dev, bytes, &buf) != DSHAL_OK) p.setup_failed("buffer_alloc", p.t->last_error());

  std::vector<unsigned char> pattern(bytes, 0x5a), back(bytes, 0);
  check(p.t->copy_h2d(p.stream, pattern.data(), buf, 0, bytes) == DSHAL_OK &&
            p.t->copy_d2h(p.stream, buf, 0, back.data(), bytes) == DSHAL_OK &&
            p.t->stream_synchronize(p.stream) == DSHAL_OK,
        "copy_h2d + copy_d2h through the DMA engine succeed");
  check(back == pattern, "the bytes written to the card come back through copy_d2h");

  const volatile unsigned char* card = reinterpret_cast<const unsigned char*>(buf->data);
  const int card_signal = child_read_signal(card);
  std::printf("host read of card address %p ended the child with signal %d (%s)\n", (const void*)card, card_signal,
              card_signal ? strsignal(card_signal) : "none");
  check(card_signal == SIGSEGV, "a host read of card memory faults (SIGSEGV)");
  check(child_read_signal(card + bytes - 1) == SIGSEGV, "a host read of the buffer's last byte faults too");
  check(child_read_signal(pattern.data()) == 0, "control: a host read of host memory does not fault");

  p.t->buffer_free(buf);
  return npu_sim_test::verdict();
}
