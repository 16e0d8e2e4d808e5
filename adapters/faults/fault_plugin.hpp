// adapters/faults/fault_plugin.hpp: what every fault plugin shares. A fault plugin is the template
// adapter's implementation (linked from its object library, unchanged) behind an entry point of its
// own, handing hal a copy of the template's table with one or two slots replaced by wrappers that
// inject the fault.
#pragma once

#include "template.hpp"

namespace dshal_faults {

// The template's table under the fault plugin's name: every slot still the template's.
inline dshal_adapter_table derived_table(const char* name, const char* description) {
  dshal_adapter_table t = dshal_template::table();
  t.name = name;
  t.description = description;
  return t;
}

}  // namespace dshal_faults

// Defines the plugin's one exported symbol. The table is built on first use (not at load time) so
// the template's table, another translation unit's static, is certainly initialized by then.
#define DSHAL_FAULT_PLUGIN_ENTRY(make_table)                                                                  \
  extern "C" DSHAL_EXPORT dshal_status dshal_adapter_negotiate(uint32_t min_abi, uint32_t max_abi,            \
                                                               const dshal_host_services* host,               \
                                                               const dshal_adapter_table** out_table) {       \
    static const dshal_adapter_table faulty = make_table();                                                   \
    return dshal_template::negotiate(min_abi, max_abi, host, &faulty, out_table);                            \
  }
