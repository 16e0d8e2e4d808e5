// `dshal run --ep mpi`: one rank per process under mpirun (tools/mpi/run_mpi.cpp), or, in a dshal
// built without MPI, a clear error (tools/no_mpi/run_mpi.cpp).
#pragma once

#include "run_session.hpp"

namespace dshal::cli {

int run_mpi(const RunArgs& args);

}  // namespace dshal::cli
