// Worker processes for `dshal conform` (isolation.hpp): fork + exec right away (the parent may
// already have adapter threads, so the child runs nothing but async-signal-safe calls before exec),
// a close-on-exec pipe for events and a memfd for the case list.
#include "isolation.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include <fmt/format.h>

namespace dshal::conformance {
namespace {

Status os_error(const std::string& what) {
  return Status(DSHAL_ERROR_INTERNAL, fmt::format("dshal conform: {}: {}", what, strerror(errno)));
}

WorkerExit exit_of(int status) {
  WorkerExit e;
  if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
  else if (WIFEXITED(status)) e.code = WEXITSTATUS(status);
  return e;
}

}  // namespace

std::string WorkerExit::signal_name() const {
  if (signal == 0) return "";
  const char* abbrev = sigabbrev_np(signal);
  return abbrev ? std::string("SIG") + abbrev : fmt::format("signal {}", signal);
}

std::string WorkerExit::describe() const {
  if (signal == 0) return fmt::format("exited with code {}", code);
  return fmt::format("killed by {} ({})", signal_name(), strsignal(signal));
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0) (void)stop(std::chrono::milliseconds(0));
  if (fd_ >= 0) ::close(fd_);
}

Status WorkerProcess::start(const std::vector<std::string>& args, const std::string& cases) {
  if (pid_ > 0) (void)stop(std::chrono::milliseconds(0));
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return os_error("pipe");
  const int list = memfd_create("dshal-conform-cases", MFD_CLOEXEC);
  if (list < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return os_error("memfd_create");
  }
  for (size_t done = 0; done < cases.size();) {
    const ssize_t n = ::write(list, cases.data() + done, cases.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const Status st = os_error("writing the case list");
      ::close(list), ::close(pipe_fds[0]), ::close(pipe_fds[1]);
      return st;
    }
    done += size_t(n);
  }
  (void)lseek(list, 0, SEEK_SET);

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_strings = {"dshal"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  for (const std::string& s : {std::string("--worker-fd"), std::to_string(pipe_fds[1]),
                               std::string("--worker-cases-fd"), std::to_string(list)})
    argv_strings.push_back(s);
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    const Status st = os_error("fork");
    ::close(list), ::close(pipe_fds[0]), ::close(pipe_fds[1]);
    return st;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    // The two fds the worker uses survive exec; every other descriptor of the parent is CLOEXEC
    // or inherited as usual (stdin, stdout, stderr).
    fcntl(pipe_fds[1], F_SETFD, 0);
    fcntl(list, F_SETFD, 0);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  ::close(pipe_fds[1]);
  ::close(list);
  pid_ = pid;
  fd_ = pipe_fds[0];
  buffer_.clear();
  return {};
}

WorkerProcess::Read WorkerProcess::next_line(Clock::time_point deadline, std::string* line) {
  for (;;) {
    if (const size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      *line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return Read::kLine;
    }
    if (fd_ < 0) return Read::kEnd;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Read::kTimeout;
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, int(std::min<long long>(left, 1000)));
    if (ready < 0 && errno != EINTR) return Read::kEnd;
    if (ready <= 0) continue;
    char buf[65536];
    const ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // EOF: a partial last line is dropped (the worker died while writing it)
      ::close(fd_);
      fd_ = -1;
      return Read::kEnd;
    }
    buffer_.append(buf, size_t(n));
  }
}

WorkerExit WorkerProcess::wait(Clock::time_point deadline, std::chrono::milliseconds grace) {
  if (pid_ <= 0) return WorkerExit{};
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return exit_of(status);
    }
    if (r < 0 && errno != EINTR) {  // not our child any more: nothing left to reap
      pid_ = -1;
      return WorkerExit{};
    }
    if (Clock::now() >= deadline) return stop(grace);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

WorkerExit WorkerProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return WorkerExit{};  // nothing running; kill(-1, ...) would signal every process we own
  int status = 0;
  if (grace.count() > 0) {
    kill(pid_, SIGTERM);
    const auto until = Clock::now() + grace;
    while (Clock::now() < until) {
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return exit_of(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  kill(pid_, SIGKILL);
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return exit_of(status);
}

}  // namespace dshal::conformance
