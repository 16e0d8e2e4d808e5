// The registry of adapters: built-ins negotiated at first use (plugins join later through the same
// table), with each one's device count or the reason it has none.
#pragma once

#include <dshal/adapter.h>

#include <span>
#include <string>
#include <vector>

namespace dshal::detail {

struct Adapter {
  std::string name;
  const dshal_adapter_table* table = nullptr;  // NULL when negotiation failed
  uint32_t device_count = 0;
  std::string unavailable;  // why there is no device
  // Where it came from (AdapterInfo in dshal.hpp): empty manifest for a built-in.
  std::string manifest, library, vendor, description, expectations;
};

// Built-in adapters, defined next to the backends (backends/builtin_adapters.cpp).
struct BuiltinAdapter {
  const char* name;
  dshal_adapter_negotiate_fn negotiate;
  // Asked before negotiate: why the adapter has no device, or "" to go on (NULL: always go on).
  std::string (*probe)() = nullptr;
};
std::span<const BuiltinAdapter> builtin_adapters();

// Every adapter, in registration order. Thread-safe; initialized on first call.
const std::vector<Adapter>& adapters();
const Adapter* find_adapter(const std::string& name);

}  // namespace dshal::detail
