// all_to_all through NCCL: between this process's GPUs (ncclCommInitAll: one communicator per
// device), or across processes, one GPU each (ncclCommInitRank with an ncclUniqueId that the caller
// sends to every process: hal/mpi does it over MPI). Per exchange one NCCL group holds every local
// rank's sends and receives, each on that rank's stream. Counts are sent as bytes (ncclUint8), so
// any element size works.
#include <cstring>

#include "cuda.hpp"

namespace dshal::cuda {
namespace {

struct Comm {
  std::vector<Device*> devices;
  std::vector<cclComm_t> comms;  // comms[r] is local rank r's, global rank first_rank + r
  uint32_t first_rank = 0, size = 0;
};

static_assert(sizeof(cclUniqueId) <= DSHAL_COMM_ID_BYTES, "the collective library's id must fit dshal_comm_id");

dshal_status comm_create(const dshal_device* devices, uint32_t count, dshal_comm* out) {
  return guarded([&] {
    *out = nullptr;
    auto c = std::make_unique<Comm>();
    std::vector<int> ordinals;
    for (uint32_t r = 0; r < count; ++r) {
      c->devices.push_back(as_device(devices[r]));
      ordinals.push_back(as_device(devices[r])->ordinal);
    }
    c->comms.resize(count);
    c->size = count;
    DSHAL_CCL(cclCommInitAll(c->comms.data(), int(count), ordinals.data()));
    *out = reinterpret_cast<dshal_comm>(c.release());
    return DSHAL_OK;
  });
}

dshal_status comm_id_create(dshal_device, dshal_comm_id* out) {
  return guarded([&] {
    *out = dshal_comm_id{};
    cclUniqueId id;
    DSHAL_CCL(cclGetUniqueId(&id));
    std::memcpy(out->bytes, &id, sizeof id);
    return DSHAL_OK;
  });
}

// Blocks until all size ranks have called it with the same id (NCCL has no time limit here).
dshal_status comm_create_rank(dshal_device device, const dshal_comm_id* id, uint32_t rank, uint32_t size,
                              dshal_comm* out) {
  return guarded([&] {
    *out = nullptr;
    auto c = std::make_unique<Comm>();
    Device* d = as_device(device);
    c->devices.push_back(d);
    c->comms.resize(1);
    c->first_rank = rank;
    c->size = size;
    cclUniqueId nccl_id;
    std::memcpy(&nccl_id, id->bytes, sizeof nccl_id);
    DSHAL_GPU(gpuSetDevice(d->ordinal));
    DSHAL_CCL(cclCommInitRank(&c->comms[0], int(size), nccl_id, int(rank)));
    *out = reinterpret_cast<dshal_comm>(c.release());
    return DSHAL_OK;
  });
}

dshal_status comm_destroy(dshal_comm comm) {
  return guarded([&] {
    std::unique_ptr<Comm> c(reinterpret_cast<Comm*>(comm));
    for (cclComm_t k : c->comms) DSHAL_CCL(cclCommDestroy(k));
    return DSHAL_OK;
  });
}

dshal_status all_to_all(dshal_comm comm, const dshal_all_to_all_desc* d) {
  return guarded([&] {
    Comm* c = reinterpret_cast<Comm*>(comm);
    const uint64_t eb = d->elem_bytes;
    DSHAL_CCL(cclGroupStart());
    for (uint32_t r = 0; r < d->rank_count; ++r) {
      const dshal_all_to_all_rank& k = d->ranks[r];
      const gpuStream_t s = as_stream(k.stream)->stream;
      for (uint32_t p = 0; p < c->size; ++p) {
        if (k.send_counts[p] > 0)
          DSHAL_CCL(cclSend(at(k.send.buffer, k.send.offset + k.send_displs[p] * eb), k.send_counts[p] * eb, cclUint8,
                            int(p), c->comms[r], s));
        if (k.recv_counts[p] > 0)
          DSHAL_CCL(cclRecv(at(k.recv.buffer, k.recv.offset + k.recv_displs[p] * eb), k.recv_counts[p] * eb, cclUint8,
                            int(p), c->comms[r], s));
      }
    }
    DSHAL_CCL(cclGroupEnd());
    return DSHAL_OK;
  });
}

}  // namespace

void fill_comm_slots(dshal_adapter_table* t) {
  t->comm_create = comm_create;
  t->comm_destroy = comm_destroy;
  t->all_to_all = all_to_all;
  t->comm_id_create = comm_id_create;
  t->comm_create_rank = comm_create_rank;
}

}  // namespace dshal::cuda
