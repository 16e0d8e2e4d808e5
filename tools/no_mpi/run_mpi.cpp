// run_mpi.hpp in a dshal built without MPI (CMake did not find it; Debian: libopenmpi-dev).
#include <iostream>

#include "commands.hpp"
#include "run_mpi.hpp"

namespace dshal::cli {

int run_mpi(const RunArgs&) {
  std::cerr << "dshal run: --ep mpi: this dshal was built without MPI (install libopenmpi-dev and rebuild)\n";
  return kUsage;
}

}  // namespace dshal::cli
