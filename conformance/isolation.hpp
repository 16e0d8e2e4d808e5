// One worker process of an isolated conformance run: this program re-executed (/proc/self/exe)
// with worker options, reporting on a pipe of its own. The parent reads the pipe with a deadline,
// and stops a worker that misses it. No worker outlives the parent (PR_SET_PDEATHSIG) and every
// worker is reaped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include <dshal/dshal.hpp>

namespace dshal::conformance {

// How a worker ended.
struct WorkerExit {
  int signal = 0;  // the signal that ended it, 0 when it exited
  int code = 0;    // its exit code when it exited
  std::string signal_name() const;  // "SIGSEGV"; "" when it exited
  std::string describe() const;     // "killed by SIGSEGV (Segmentation fault)", "exited with code 3"
};

class WorkerProcess {
 public:
  using Clock = std::chrono::steady_clock;
  WorkerProcess() = default;
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  ~WorkerProcess();  // stops and reaps a worker still running

  // Starts `/proc/self/exe args... --worker-fd N --worker-cases-fd M` with cases (one per line)
  // readable on M. The worker's stdout and stderr are the parent's.
  Status start(const std::vector<std::string>& args, const std::string& cases);

  enum class Read { kLine, kEnd, kTimeout };
  // The next line the worker wrote; kEnd when it closed the pipe (it exited or crashed), kTimeout
  // when nothing complete arrived before deadline.
  Read next_line(Clock::time_point deadline, std::string* line);
  // After kEnd: waits for the worker and says how it ended.
  WorkerExit wait();
  // Stops the worker: SIGTERM, then SIGKILL when it is still alive after grace; says how it ended.
  WorkerExit stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace dshal::conformance
