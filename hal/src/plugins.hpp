// Plugin adapters: shared libraries a vendor builds against include/dshal/adapter.h alone, found
// through YAML manifests (name, library, abi_version, vendor, description and optionally
// expectations, the vendor's expectations file for the conformance suite) in, in this order, the
// folders of DSHAL_ADAPTER_PATH (colon-separated), /etc/dshal/adapters.d and the install's
// share/dshal/adapters.d (next to bin/ of the running program).
#pragma once

#include <dshal/adapter.h>

#include <string>
#include <vector>

namespace dshal::detail {

// A manifest found and, when it is usable, its library's entry point. `problem` is the one line
// `dshal devices` shows for a manifest that cannot be used (the adapter is then skipped).
struct Plugin {
  std::string manifest;  // path of the .yaml file
  std::string name;      // the adapter name (the file's stem when the manifest has none)
  std::string vendor, description;
  std::string library;       // the library's path, resolved against the manifest's folder
  std::string expectations;  // the optional `expectations:` file, resolved likewise ("" when absent)
  dshal_adapter_negotiate_fn negotiate = nullptr;
  std::string problem;
};

// The manifest folders, in search order (the environment and the running program decide them).
std::vector<std::string> manifest_folders();

// Every manifest of the folders, in folder order and by file name within a folder. Libraries are
// opened (and stay open for the life of the process) only for manifests whose abi_version this hal
// speaks; names already in `taken` (built-ins, earlier manifests) are refused.
std::vector<Plugin> find_plugins(const std::vector<std::string>& folders, std::vector<std::string> taken);

}  // namespace dshal::detail
