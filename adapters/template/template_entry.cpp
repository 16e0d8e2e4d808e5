// adapters/template/template_entry.cpp: the plugin's one exported symbol, dshal_adapter_negotiate,
// handing hal the template's table (everything else is hidden by -fvisibility=hidden). Kept apart
// from the table so other plugins can link the template's implementation with entry points of
// their own (adapters/faults).
#include "template.hpp"

extern "C" DSHAL_EXPORT dshal_status dshal_adapter_negotiate(uint32_t min_abi, uint32_t max_abi,
                                                             const dshal_host_services* host,
                                                             const dshal_adapter_table** out_table) {
  return dshal_template::negotiate(min_abi, max_abi, host, &dshal_template::table(), out_table);
}
