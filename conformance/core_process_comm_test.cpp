// core tier, optional slots: a communicator across processes (comm_id_create / comm_create_rank).
// This process makes the id, starts a peer process (`dshal comm-peer`, the same program) on the
// backend's second device, both join, and both run the same uneven exchange and check what arrived
// (process_comm.hpp). Skipped, with the reason, where the adapter has no such slots or one device.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "harness.hpp"
#include "process_comm.hpp"

extern char** environ;

namespace dshal::conformance {
namespace {

// How long the peer may take after this side finished (it ran the same exchange).
constexpr std::chrono::seconds kPeerExitLimit{60};

// Waits for the peer's exit status; kills it past the limit. Returns "" or what went wrong.
std::string reap(pid_t pid) {
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() - start > kPeerExitLimit) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return fmt::format("the peer process did not exit within {} s", kPeerExitLimit.count());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return WIFEXITED(status) ? fmt::format("the peer process exited with {} (its stderr says why)", WEXITSTATUS(status))
                           : fmt::format("the peer process died of signal {}", WTERMSIG(status));
}

class ProcessComm : public DeviceTest {};

TEST_P(ProcessComm, ExchangeWithAPeerProcess) {
  if (!Communicator::spans_processes(dev()))
    GTEST_SKIP() << "optional: the adapter has no communicators across processes (comm_id_create / comm_create_rank)";
  const std::vector<std::string> ids = sibling_ids(id());
  if (ids.size() < 2) GTEST_SKIP() << "needs a second device for the peer process (one device per rank)";
  const std::string peer_device = ids[0] == id() ? ids[1] : ids[0];
  dshal_comm_id comm_id;
  DSHAL_ASSERT_OK(Communicator::make_id(dev(), &comm_id));
  const std::string hex = comm_id_to_hex(comm_id);
  std::vector<std::string> args = {"dshal", "comm-peer", "--device", peer_device, "--id", hex, "--rank", "1", "--size", "2"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ), 0) << "posix_spawn of the peer";
  Communicator comm;
  const Status joined = Communicator::join(dev(), comm_id, 0, 2, &comm);
  if (!joined.ok()) kill(pid, SIGKILL);  // it may wait for this rank to join
  const std::string mine = joined.ok() ? exchange_across_processes(dev(), str(), comm, 0) : "";
  const std::string peer = reap(pid);
  DSHAL_ASSERT_OK(joined);
  EXPECT_EQ(mine, "");
  EXPECT_EQ(peer, "") << "peer on " << peer_device;
  RecordProperty("ranks", 2);
}

DSHAL_INSTANTIATE(core, ProcessComm);

}  // namespace
}  // namespace dshal::conformance
