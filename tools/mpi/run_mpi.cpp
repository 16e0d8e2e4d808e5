// `dshal run --ep mpi` under mpirun: every rank opens --device in its own process; rank 0 loads the
// model without the routed experts, plus experts [0, E/P), and runs it; rank r loads only experts
// [r * E/P, (r + 1) * E/P) and serves the MoE layers (model/mpi_experts.hpp). Only rank 0 prints.
//
// Failures: errors while loading are agreed on by every rank (rank 0 prints the lowest failing
// rank's error, every rank exits with the same code); an error while running aborts the job (MPI_Abort), and a rank
// that dies makes mpirun stop the others, so no rank waits for a peer that is gone.
#include <chrono>
#include <iostream>
#include <ostream>

#include <dshal/mpi.hpp>
#include <fmt/format.h>

#include "commands.hpp"
#include "model/mpi_experts.hpp"
#include "run_mpi.hpp"

namespace dshal::cli {
namespace {

using Clock = std::chrono::steady_clock;

// MPI_Init / MPI_Finalize around the run.
struct MpiSession {
  MpiSession() { MPI_Init(nullptr, nullptr); }
  ~MpiSession() { MPI_Finalize(); }
};

int exit_code(dshal_status code) {
  return code == DSHAL_ERROR_INVALID_ARGUMENT || code == DSHAL_ERROR_NOT_FOUND ? kUsage : kFailed;
}

// An error while the ranks exchange rows: the others may be waiting for this one, so end the job.
[[noreturn]] void abort_job(const Status& st, int rank) {
  std::cerr << "dshal run: rank " << rank << ": " << st.message() << "\n";
  MPI_Abort(MPI_COMM_WORLD, kFailed);
  std::abort();  // MPI_Abort does not return
}

// What rank r holds, gathered on rank 0 for the report.
struct RankFigures {
  uint64_t weight_bytes, first_expert, end_expert, resident, peak;
};

std::vector<WeightHolder> gather_holders(const WeightHolder& mine, int rank, int ranks, const std::string& device) {
  const auto [rss, hwm] = resident_bytes();
  const RankFigures f{mine.weight_bytes, uint64_t(mine.first_expert), uint64_t(mine.end_expert), rss, hwm};
  std::vector<RankFigures> all(static_cast<size_t>(ranks));
  MPI_Gather(&f, sizeof f, MPI_BYTE, all.data(), sizeof f, MPI_BYTE, 0, MPI_COMM_WORLD);
  std::vector<WeightHolder> out;
  if (rank != 0) return out;
  for (int r = 0; r < ranks; ++r) {
    const RankFigures& x = all[size_t(r)];
    out.push_back({fmt::format("rank {} {}", r, device), x.weight_bytes, int64_t(x.first_expert), int64_t(x.end_expert),
                   r, x.resident, x.peak});
  }
  return out;
}

}  // namespace

int run_mpi(const RunArgs& args) {
  MpiSession session;
  MpiCommunicator comm;
  if (Status st = MpiCommunicator::create(MPI_COMM_WORLD, &comm); !st.ok()) return fail(st);
  const int rank = comm.rank(), ranks = comm.size();
  std::ostream quiet(nullptr);
  std::ostream& err = rank == 0 ? std::cerr : quiet;  // every rank sees the same bad arguments

  std::vector<int32_t> prompt;
  if (!parse_prompt(args, err, &prompt)) return kUsage;
  std::vector<std::string> ids;
  if (!resolve_devices(args.device.empty() ? device_spec_from_env("auto") : args.device, &ids)) return kUsage;
  if (ids.size() != 1) {
    err << "dshal run: --ep mpi: --device lists " << ids.size()
        << " devices; give one, which every rank opens in its own process\n";
    return kUsage;
  }
  Device device;
  Status st = open_device(ids[0], &device);
  model::ModelOptions opts = model_options(args, device, prompt.size(), /*progress=*/rank == 0);

  // Loading: rank 0 the model and its experts, the others their experts only.
  std::unique_ptr<model::Model> m;
  std::unique_ptr<model::Checkpoint> ckpt;
  std::unique_ptr<model::MpiExpertServer> server;
  model::MpiExperts* experts = nullptr;  // owned by m
  const auto t_load = Clock::now();
  if (st.ok() && rank == 0) {
    if (ranks > 1)
      opts.routed_experts = [&](const model::Checkpoint& c, std::unique_ptr<model::RoutedExperts>* out) {
        std::unique_ptr<model::MpiExperts> e;
        DSHAL_RETURN_IF_ERROR(model::MpiExperts::create(c, device, comm, opts.activations, &e));
        experts = e.get();
        *out = std::move(e);
        return Status();
      };
    st = model::Model::load(args.model, device, opts, &m);
    if (st.ok()) st = m->check_ids(prompt);  // bad input is found before the ranks exchange rows
  } else if (st.ok()) {
    st = model::Checkpoint::open(args.model, &ckpt);
    if (st.ok()) st = model::MpiExpertServer::create(*ckpt, device, comm, opts.activations, opts.max_batch_tokens, &server);
  }
  // Every rank learns whether every rank got this far; rank 0 prints the lowest failing rank's error.
  if (st = comm.agree(st); !st.ok()) {
    err << "dshal run: " << st.message() << "\n";
    return exit_code(st.code());
  }
  // The device's own transport across processes where its adapter has one (NCCL on cuda); every
  // rank gets the same verdict, so only rank 0 prints.
  bool device_transport = false;
  if (st = comm.use_device_transport(device, &device_transport); !st.ok()) {
    err << "dshal run: " << st.message() << "\n";
    return exit_code(st.code());
  }
  const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();

  Generation g;
  WeightHolder mine;
  if (rank == 0) {
    if (st = generate(*m, args, prompt, &g); !st.ok()) abort_job(st, rank);
    if (experts != nullptr)
      if (st = experts->stop(); !st.ok()) abort_job(st, rank);
    mine = local_holders(*m, device)[0];
  } else {
    if (st = server->serve(); !st.ok()) abort_job(st, rank);
    const model::DeviceWeightStats& w = server->weights();
    mine = {w.device, w.stats.checkpoint_bytes + w.stats.dequantized_bytes, w.first_expert, w.first_expert + w.expert_count};
  }
  const std::vector<WeightHolder> holders = gather_holders(mine, rank, ranks, device.id());
  if (rank == 0) print_report(args, *m, device, prompt, g, load_s, holders, device_transport ? "device" : "mpi-staged");
  return kOk;
}

}  // namespace dshal::cli
