// all_to_all across processes, one rank per process, over MPI (Open MPI from Debian): the same
// exchange as Communicator::all_to_all (hal/include/dshal/adapter.h, dshal_all_to_all_rank) for the
// part that lives in this process. Built as libdshal_mpi when CMake finds MPI; the caller owns
// MPI_Init / MPI_Finalize.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <dshal/dshal.hpp>

namespace dshal {

// This process's side of one exchange: element counts and displacements per rank (host arrays of
// the communicator's size), as in dshal_all_to_all_rank.
struct MpiExchange {
  uint32_t elem_bytes = 0;
  std::span<const uint64_t> send_counts, send_displs, recv_counts, recv_displs;
};

class MpiCommunicator {
 public:
  // Wraps comm (not duplicated; it must outlive this). Errors on comm are returned, not fatal:
  // the communicator's error handler is set to MPI_ERRORS_RETURN.
  static Status create(MPI_Comm comm, MpiCommunicator* out);

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Collective: every rank's verdict on a step, so that all go on or all stop. Every rank returns
  // the lowest failing rank's status and message (prefixed "rank N: " unless N is 0).
  Status agree(const Status& mine) const;

  // Collective: when device's adapter has a transport across processes (Communicator::
  // spans_processes; NCCL on cuda), rank 0 makes its id, MPI_Bcast sends it, and every rank joins
  // with its device; *used says whether every rank did (the ranks agree, so all stage or none do).
  // Device exchanges then go through that transport. Without one, *used is false and nothing changes.
  Status use_device_transport(const Device& device, bool* used);
  bool device_transport() const { return bool(device_comm_); }

  // Device buffers. With the device's transport: async on stream, like Communicator::all_to_all.
  // Otherwise: waits for the stream's work, stages send through host memory (kept for the next
  // exchange), exchanges over MPI and copies what arrived into recv; returns when recv holds it.
  // One exchange at a time per communicator, as MPI's collectives on one comm require.
  Status all_to_all(const Stream& stream, const MpiExchange& x, const Buffer& send, uint64_t send_offset,
                    const Buffer& recv, uint64_t recv_offset) const;

  // Host memory that the device also reads and writes (buffers made with Device::import_host_memory
  // on devices with DSHAL_DEVICE_HOST_SHARED_MEMORY): waits for the stream's work, then exchanges
  // in place, without staging. Blocking.
  Status all_to_all_host(const Stream& stream, const MpiExchange& x, const void* send, void* recv) const;

  // Host bytes from rank `root` to every rank (MPI_Bcast). Blocking.
  Status broadcast_host(void* data, uint64_t bytes, int root) const;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 0;
  Communicator device_comm_;  // joined by use_device_transport, else empty
  mutable std::vector<std::byte> staging_send_, staging_recv_;
};

}  // namespace dshal
