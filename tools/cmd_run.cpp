// `dshal run`: load a DeepSeek checkpoint onto a device, prefill a prompt, decode new tokens, and
// report the ids and tokens/s (optionally every logits row as .npy). Several devices, or
// `--ep mpi` under mpirun, spread the routed experts (expert parallelism).
#include <chrono>
#include <iostream>

#include <dshal/dshal.hpp>

#include "commands.hpp"
#include "model/expert_parallel.hpp"
#include "run_mpi.hpp"
#include "run_session.hpp"

namespace dshal::cli {
namespace {

using Clock = std::chrono::steady_clock;

int run(const RunArgs& args) {
  if (args.ep == "mpi") return run_mpi(args);
  std::vector<int32_t> prompt;
  if (!parse_prompt(args, std::cerr, &prompt)) return kUsage;
  std::vector<std::string> ids;
  if (!resolve_devices(args.device.empty() ? device_spec_from_env("auto") : args.device, &ids)) return kUsage;
  std::vector<Device> devices(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    if (Status st = open_device(ids[i], &devices[i]); !st.ok()) return fail(st);
  const Device& device = devices[0];

  model::ModelOptions opts = model_options(args, device, prompt.size(), /*progress=*/true);
  // Several devices: expert parallelism, the routed experts spread over them, the rest on the first.
  if (devices.size() > 1)
    opts.routed_experts = model::ExpertParallel::factory(devices, opts.activations, opts.max_batch_tokens);
  const auto t_load = Clock::now();
  std::unique_ptr<model::Model> m;
  if (Status st = model::Model::load(args.model, device, opts, &m); !st.ok()) return fail(st);
  const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();

  Generation g;
  if (Status st = generate(*m, args, prompt, &g); !st.ok()) return fail(st);
  print_report(args, *m, device, prompt, g, load_s, local_holders(*m, device));
  return kOk;
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a DeepSeek checkpoint: prefill a prompt and decode new tokens");
  cmd->add_option("--model", args->model, "Hugging Face checkpoint folder (config.json + safetensors)")->required();
  cmd->add_option("--device", args->device, "Device id, or a comma list to spread the routed experts over (default: DSHAL_DEVICE, else auto)");
  cmd->add_option("--ep", args->ep,
                  "Expert parallelism: over the --device list of this process, or over MPI ranks (under mpirun; "
                  "each rank on --device, rank 0 running the model)")
      ->check(CLI::IsMember({"devices", "mpi"}))->capture_default_str();
  cmd->add_option("--prompt-ids", args->prompt_ids, "Prompt token ids, space separated")->required();
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Tokens to generate")->capture_default_str();
  cmd->add_option("--attn", args->attn, "MLA form")->check(CLI::IsMember({"naive", "absorb"}))->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "Activations (default: bf16 where the device has it)")
      ->check(CLI::IsMember({"f32", "bf16"}));
  cmd->add_option("--seed", args->seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--temperature", args->temperature, "0 is greedy")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--top-p", args->top_p, "Nucleus mass")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
  cmd->add_option("--max-batch-tokens", args->max_batch_tokens, "Prompt tokens per prefill chunk")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--logits-out", args->logits_out, "Write f32 logits [prompt + decoded, vocab] as .npy");
  cmd->add_flag("--json", args->json, "Machine-readable output");
  cmd->callback([args, exit_code] { *exit_code = run(*args); });
}

}  // namespace dshal::cli
