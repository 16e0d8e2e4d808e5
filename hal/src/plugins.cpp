// Finds plugin manifests and opens their libraries (plugins.hpp). Every problem is one line on the
// plugin (Plugin::problem) and never stops the others from loading.
#include "plugins.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace dshal::detail {
namespace {

namespace fs = std::filesystem;

// The manifest's field as a string, "" when absent.
std::string field(const YAML::Node& m, const char* key) {
  const YAML::Node v = m[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// Reads the manifest into p; false (with p->problem) when it is not usable as written.
bool read_manifest(const fs::path& file, Plugin* p, std::string* library, uint32_t* abi) {
  YAML::Node m;
  try {
    m = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    p->problem = fmt::format("manifest {}: not valid YAML: {}", file.string(), e.what());
    return false;
  }
  if (!m.IsMap()) {
    p->problem = fmt::format("manifest {}: expected a map of name, library, abi_version, vendor, description", file.string());
    return false;
  }
  if (std::string name = field(m, "name"); !name.empty()) p->name = name;
  p->vendor = field(m, "vendor");
  p->description = field(m, "description");
  if (const std::string e = field(m, "expectations"); !e.empty())
    p->expectations = fs::path(e).is_absolute() ? e : (file.parent_path() / e).string();
  *library = field(m, "library");
  for (const char* key : {"name", "library", "abi_version"})
    if (field(m, key).empty()) {
      p->problem = fmt::format("manifest {}: missing field '{}'", file.string(), key);
      return false;
    }
  try {
    *abi = m["abi_version"].as<uint32_t>();
  } catch (const YAML::Exception&) {
    p->problem = fmt::format("manifest {}: abi_version '{}' is not a number", file.string(), field(m, "abi_version"));
    return false;
  }
  return true;
}

// The manifests of one folder, by file name.
std::vector<fs::path> manifests_in(const std::string& folder) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(folder, ec)) {
    const std::string ext = e.path().extension().string();
    if ((ext == ".yaml" || ext == ".yml") && e.is_regular_file(ec)) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::vector<std::string> manifest_folders() {
  std::vector<std::string> folders;
  if (const char* path = std::getenv("DSHAL_ADAPTER_PATH"); path && *path) {
    std::string list = path;
    for (size_t start = 0; start <= list.size();) {
      const size_t end = std::min(list.find(':', start), list.size());
      if (end > start) folders.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  folders.push_back("/etc/dshal/adapters.d");
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) folders.push_back((exe.parent_path().parent_path() / "share" / "dshal" / "adapters.d").string());
  return folders;
}

std::vector<Plugin> find_plugins(const std::vector<std::string>& folders, std::vector<std::string> taken) {
  std::vector<Plugin> plugins;
  for (const std::string& folder : folders)
    for (const fs::path& file : manifests_in(folder)) {
      Plugin& p = plugins.emplace_back();
      p.manifest = file.string();
      p.name = file.stem().string();
      std::string library;
      uint32_t abi = 0;
      if (!read_manifest(file, &p, &library, &abi)) continue;
      if (std::find(taken.begin(), taken.end(), p.name) != taken.end()) {
        p.problem = fmt::format("manifest {}: an adapter named '{}' is already loaded", p.manifest, p.name);
        continue;
      }
      taken.push_back(p.name);
      // Checked before dlopen: a library for another ABI may not even load (or may run
      // constructors that expect another host).
      if (abi != DSHAL_ABI_VERSION) {
        p.problem = fmt::format("manifest {}: abi_version {} is not the ABI this dshal speaks ({})", p.manifest, abi,
                                DSHAL_ABI_VERSION);
        continue;
      }
      const fs::path lib = fs::path(library).is_absolute() ? fs::path(library) : file.parent_path() / library;
      p.library = lib.string();
      void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        const char* why = dlerror();
        p.problem = fmt::format("manifest {}: cannot load {}: {}", p.manifest, lib.string(), why ? why : "dlopen failed");
        continue;
      }
      p.negotiate = reinterpret_cast<dshal_adapter_negotiate_fn>(dlsym(handle, "dshal_adapter_negotiate"));
      if (!p.negotiate) {
        p.problem = fmt::format("manifest {}: {} has no entry point dshal_adapter_negotiate", p.manifest, lib.string());
        dlclose(handle);
      }
      // A loaded plugin stays open: its table and handles live as long as the process.
    }
  return plugins;
}

}  // namespace dshal::detail
