// MpiCommunicator (dshal/mpi.hpp): one MPI_Alltoallv per exchange, in a contiguous datatype of
// elem_bytes so that counts and displacements stay in elements (and within MPI's int range for
// 2^31 elements rather than bytes).
#include <dshal/mpi.hpp>

#include <algorithm>
#include <climits>
#include <vector>

#include <fmt/format.h>

namespace dshal {
namespace {

Status mpi_error(int code, const char* what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  return Status(DSHAL_ERROR_INTERNAL, fmt::format("mpi: {} failed: {}", what, std::string(text, size_t(len))));
}

// MPI's int counts and displacements, checked: each array has one entry per rank and fits.
Status to_int(std::span<const uint64_t> v, int ranks, const char* name, std::vector<int>* out) {
  if (v.size() != size_t(ranks))
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("mpi all_to_all: {} has {} entries; the communicator has {} ranks", name, v.size(), ranks));
  out->clear();
  for (size_t p = 0; p < v.size(); ++p) {
    if (v[p] > uint64_t(INT_MAX))
      return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                    fmt::format("mpi all_to_all: {}[{}] = {} elements is more than MPI's int counts hold", name, p, v[p]));
    out->push_back(int(v[p]));
  }
  return {};
}

// Elements spanned by counts at displs: the extent a buffer must have.
uint64_t extent(std::span<const uint64_t> counts, std::span<const uint64_t> displs) {
  uint64_t end = 0;
  for (size_t p = 0; p < counts.size(); ++p)
    if (counts[p] > 0) end = std::max(end, displs[p] + counts[p]);
  return end;
}

}  // namespace

Status MpiCommunicator::create(MPI_Comm comm, MpiCommunicator* out) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "mpi communicator: MPI_Init has not been called");
  if (comm == MPI_COMM_NULL) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "mpi communicator: MPI_COMM_NULL");
  if (int rc = MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN); rc != MPI_SUCCESS)
    return mpi_error(rc, "MPI_Comm_set_errhandler");
  MpiCommunicator c;
  c.comm_ = comm;
  MPI_Comm_rank(comm, &c.rank_);
  MPI_Comm_size(comm, &c.size_);
  *out = std::move(c);
  return {};
}

Status MpiCommunicator::all_to_all_host(const Stream& stream, const MpiExchange& x, const void* send, void* recv) const {
  if (x.elem_bytes == 0 || x.elem_bytes > uint32_t(INT_MAX))
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("mpi all_to_all: elem_bytes {} is not usable", x.elem_bytes));
  std::vector<int> sc, sd, rc, rd;
  DSHAL_RETURN_IF_ERROR(to_int(x.send_counts, size_, "send_counts", &sc));
  DSHAL_RETURN_IF_ERROR(to_int(x.send_displs, size_, "send_displs", &sd));
  DSHAL_RETURN_IF_ERROR(to_int(x.recv_counts, size_, "recv_counts", &rc));
  DSHAL_RETURN_IF_ERROR(to_int(x.recv_displs, size_, "recv_displs", &rd));
  DSHAL_RETURN_IF_ERROR(stream.synchronize());  // the device's writes into send are done
  MPI_Datatype elem;
  if (int e = MPI_Type_contiguous(int(x.elem_bytes), MPI_BYTE, &elem); e != MPI_SUCCESS)
    return mpi_error(e, "MPI_Type_contiguous");
  MPI_Type_commit(&elem);
  const int e = MPI_Alltoallv(send, sc.data(), sd.data(), elem, recv, rc.data(), rd.data(), elem, comm_);
  MPI_Type_free(&elem);
  if (e != MPI_SUCCESS) return mpi_error(e, "MPI_Alltoallv");
  return {};
}

Status MpiCommunicator::broadcast_host(void* data, uint64_t bytes, int root) const {
  if (bytes > uint64_t(INT_MAX))
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("mpi broadcast: {} bytes is more than MPI's int counts hold", bytes));
  if (int e = MPI_Bcast(data, int(bytes), MPI_BYTE, root, comm_); e != MPI_SUCCESS) return mpi_error(e, "MPI_Bcast");
  return {};
}

Status MpiCommunicator::agree(const Status& mine) const {
  int failed_rank = mine.ok() ? INT_MAX : rank_, lowest = INT_MAX;
  if (int e = MPI_Allreduce(&failed_rank, &lowest, 1, MPI_INT, MPI_MIN, comm_); e != MPI_SUCCESS)
    return mpi_error(e, "MPI_Allreduce");
  if (lowest == INT_MAX) return {};
  int code = int(mine.code());
  std::string text = mine.message();
  text.resize(std::min<size_t>(text.size(), 4096));
  int len = int(text.size());
  MPI_Bcast(&code, 1, MPI_INT, lowest, comm_);
  MPI_Bcast(&len, 1, MPI_INT, lowest, comm_);
  text.resize(size_t(len));
  MPI_Bcast(text.data(), len, MPI_CHAR, lowest, comm_);
  return Status(dshal_status(code), lowest == 0 ? text : fmt::format("rank {}: {}", lowest, text));
}

Status MpiCommunicator::use_device_transport(const Device& device, bool* used) {
  *used = false;
  int native = Communicator::spans_processes(device) ? 1 : 0, everywhere = 0;
  if (int e = MPI_Allreduce(&native, &everywhere, 1, MPI_INT, MPI_MIN, comm_); e != MPI_SUCCESS)
    return mpi_error(e, "MPI_Allreduce");
  if (!everywhere) return {};
  dshal_comm_id id{};
  DSHAL_RETURN_IF_ERROR(agree(rank_ == 0 ? Communicator::make_id(device, &id) : Status()));
  DSHAL_RETURN_IF_ERROR(broadcast_host(&id, sizeof(id), 0));
  Communicator joined;
  DSHAL_RETURN_IF_ERROR(agree(Communicator::join(device, id, uint32_t(rank_), uint32_t(size_), &joined)));
  device_comm_ = std::move(joined);
  *used = true;
  return {};
}

Status MpiCommunicator::all_to_all(const Stream& stream, const MpiExchange& x, const Buffer& send, uint64_t send_offset,
                                   const Buffer& recv, uint64_t recv_offset) const {
  if (x.send_counts.size() != size_t(size_) || x.send_displs.size() != size_t(size_) ||
      x.recv_counts.size() != size_t(size_) || x.recv_displs.size() != size_t(size_))
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("mpi all_to_all: counts and displacements need {} entries each", size_));
  if (device_transport()) {
    const dshal_all_to_all_rank mine{stream_handle(stream), ref(send, send_offset), x.send_counts.data(),
                                     x.send_displs.data(), ref(recv, recv_offset), x.recv_counts.data(),
                                     x.recv_displs.data()};
    auto d = desc<dshal_all_to_all_desc>();
    d.elem_bytes = x.elem_bytes;
    d.rank_count = 1;
    d.ranks = &mine;
    return device_comm_.all_to_all(d);
  }
  const uint64_t send_bytes = extent(x.send_counts, x.send_displs) * x.elem_bytes;
  const uint64_t recv_bytes = extent(x.recv_counts, x.recv_displs) * x.elem_bytes;
  // Staging kept between exchanges: fresh pages each time would cost more than the copies.
  if (staging_send_.size() < send_bytes) staging_send_.resize(send_bytes);
  if (staging_recv_.size() < recv_bytes) staging_recv_.resize(recv_bytes);
  std::byte* host_send = staging_send_.data();
  std::byte* host_recv = staging_recv_.data();
  if (send_bytes > 0) DSHAL_RETURN_IF_ERROR(stream.copy_d2h(send, send_offset, host_send, send_bytes));
  DSHAL_RETURN_IF_ERROR(all_to_all_host(stream, x, host_send, host_recv));
  // Only the ranges that arrived: the rest of recv keeps its contents, as in the device exchange.
  for (size_t p = 0; p < x.recv_counts.size(); ++p) {
    if (x.recv_counts[p] == 0) continue;
    const uint64_t at = x.recv_displs[p] * x.elem_bytes;
    DSHAL_RETURN_IF_ERROR(stream.copy_h2d(host_recv + at, recv, recv_offset + at, x.recv_counts[p] * x.elem_bytes));
  }
  return stream.synchronize();  // the staging is reused by the next exchange
}

}  // namespace dshal
