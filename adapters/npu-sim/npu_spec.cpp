// adapters/npu-sim/npu_spec.cpp: reads the card model (a YAML spec) that sets the card count,
// memory size and every cost-model number. Where it comes from, in order:
//   1. DSHAL_NPU_SIM_SPEC=<file>;
//   2. the default spec shipped beside the manifest: <folder of this library>/npu-sim/default.yaml
//      (CMake copies specs/ascend-910b.yaml there; the manifest's `library` is relative to its own
//      folder, so both live in the same adapters.d folder).
// DSHAL_NPU_SIM_CARDS=<n> overrides `cards`. A bad file or value is reported once, naming the file and
// the field, and makes device_count return DSHAL_ERROR_UNAVAILABLE (hal lists the reason).
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <yaml-cpp/yaml.h>

#include "npu_sim.hpp"

namespace npu_sim {
namespace {

constexpr uint32_t kMaxCards = 64;

// The folder this shared library was loaded from (dladdr on one of its own functions).
std::string library_folder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&library_folder), &info) == 0 || !info.dli_fname) return ".";
  return std::filesystem::path(info.dli_fname).parent_path().string();
}

// Reads the fields of one YAML mapping; every message names the file and the field (prefix.key for
// the fields of a nested mapping such as tflops).
struct Fields {
  const YAML::Node& map;
  const std::string& path;
  std::string prefix;

  [[noreturn]] void bad(const char* key, const std::string& what) const {
    throw std::runtime_error(path + ": field '" + prefix + key + "' " + what);
  }
  YAML::Node required(const char* key) const {
    const YAML::Node n = map[key];
    if (!n) bad(key, "is missing");
    return n;
  }
  // A finite number > 0 (rates and bandwidths), or >= 0 when zero_ok (an overhead may be nothing).
  double number(const char* key, bool zero_ok) const {
    const YAML::Node n = required(key);
    double v = 0;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      bad(key, "is not a number: '" + n.Scalar() + "'");
    }
    if (!(zero_ok ? v >= 0 : v > 0) || v > 1e300) bad(key, std::string("must be ") + (zero_ok ? ">= 0" : "> 0") + ", got " + n.Scalar());
    return v;
  }
  uint64_t count(const char* key, uint64_t max) const {
    const YAML::Node n = required(key);
    uint64_t v = 0;
    try {
      v = n.as<uint64_t>();
    } catch (const YAML::Exception&) {
      bad(key, "is not a whole number: '" + n.Scalar() + "'");
    }
    if (v < 1 || v > max) bad(key, "must be in [1, " + std::to_string(max) + "], got " + n.Scalar());
    return v;
  }
};

Spec load(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw std::runtime_error(path + ": no such spec file");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ": not valid YAML: " + e.what());
  }
  if (!root.IsMap()) throw std::runtime_error(path + ": the spec must be a YAML mapping");
  const Fields f{root, path, ""};
  Spec s;
  s.path = path;
  const YAML::Node name = f.required("name");
  if (!name.IsScalar() || name.Scalar().empty()) f.bad("name", "must be a non-empty string");
  s.name = name.Scalar();
  s.cards = uint32_t(f.count("cards", kMaxCards));
  s.memory_bytes = f.count("memory_bytes", uint64_t(1) << 44);  // up to 16 TiB of address space per card
  s.compute_units = uint32_t(f.count("compute_units", 4096));
  const YAML::Node tflops = f.required("tflops");
  if (!tflops.IsMap()) f.bad("tflops", "must be a mapping of f16, bf16 and f32");
  const Fields t{tflops, path, "tflops."};
  s.tflops_f16 = t.number("f16", false);
  s.tflops_bf16 = t.number("bf16", false);
  s.tflops_f32 = t.number("f32", false);
  s.hbm_gbps = f.number("hbm_gbps", false);
  s.pcie_gbps = f.number("pcie_gbps", false);
  s.interconnect_gbps = f.number("interconnect_gbps", false);
  s.launch_overhead_us = f.number("launch_overhead_us", true);
  return s;
}

struct Loaded {
  std::once_flag once;
  std::unique_ptr<Spec> spec;
  std::string error;
};

Loaded& loaded() {
  static Loaded l;
  return l;
}

}  // namespace

const Spec* spec(std::string* error) {
  Loaded& l = loaded();
  std::call_once(l.once, [&] {
    try {
      const char* env = std::getenv("DSHAL_NPU_SIM_SPEC");
      const std::string path = env && *env ? std::string(env) : library_folder() + "/npu-sim/default.yaml";
      auto s = std::make_unique<Spec>(load(path));
      if (const char* cards = std::getenv("DSHAL_NPU_SIM_CARDS"); cards && *cards) {
        char* end = nullptr;
        const unsigned long n = std::strtoul(cards, &end, 10);
        if (*end != '\0' || n < 1 || n > kMaxCards)
          throw std::runtime_error(std::string("DSHAL_NPU_SIM_CARDS='") + cards + "' is not a count in [1, " +
                                   std::to_string(kMaxCards) + "]");
        s->cards = uint32_t(n);
      }
      l.spec = std::move(s);
    } catch (const std::exception& e) {
      l.error = e.what();  // hal prints it once, as the reason npu-sim has no device
    }
  });
  if (!l.spec && error) *error = l.error;
  return l.spec.get();
}

}  // namespace npu_sim
