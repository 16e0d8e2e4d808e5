// all_to_all between this process's GPUs through NCCL: one communicator per device
// (ncclCommInitAll), and per exchange one NCCL group holding every rank's sends and receives, each
// on that rank's stream. Counts are sent as bytes (ncclUint8), so any element size works.
#include "cuda.hpp"

namespace dshal::cuda {
namespace {

struct Comm {
  std::vector<Device*> devices;
  std::vector<cclComm_t> comms;  // comms[r] is rank r's
};

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
    DSHAL_CCL(cclCommInitAll(c->comms.data(), int(count), ordinals.data()));
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
      for (uint32_t p = 0; p < d->rank_count; ++p) {
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
}

}  // namespace dshal::cuda
