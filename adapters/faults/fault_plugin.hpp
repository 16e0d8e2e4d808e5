// adapters/faults/fault_plugin.hpp: what every fault plugin shares. A fault plugin is the template
// adapter's implementation (linked from its object library, unchanged) behind an entry point of its
// own, handing hal a copy of the template's table with one or two slots replaced by wrappers that
// inject the fault.
#pragma once

#include <sys/mman.h>

#include "template.hpp"

namespace dshal_faults {

// A real memory fault (SIGSEGV): a load through a volatile pointer from a page mapped with no
// access. The compiler cannot drop or rewrite it (a null dereference is undefined behaviour it may
// turn into something else) and no signal handler can make it go away (a raise(SIGSEGV) returns
// normally when a library such as LLVM, loaded by pocl, has a SIGSEGV handler installed; a faulting
// load re-faults after that handler and kills the process). Returns only if mmap fails.
inline void memory_fault() {
  void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return;
  const float value = *static_cast<volatile const float*>(page);
  (void)value;
}

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
