// The opencl adapter's table, its negotiate entry point, and the mapping of OpenCL error codes.
#include "opencl.hpp"

namespace dshal::opencl {

namespace {
const dshal_host_services* g_host = nullptr;
}  // namespace

void log(int level, const std::string& message) {
  if (g_host && g_host->log) g_host->log(level, "opencl", message.c_str());
}

const char* cl_error_name(cl_int err) {
  switch (err) {
#define DSHAL_CL_CASE(e) \
  case e:                \
    return #e;
    DSHAL_CL_CASE(CL_DEVICE_NOT_FOUND)
    DSHAL_CL_CASE(CL_DEVICE_NOT_AVAILABLE)
    DSHAL_CL_CASE(CL_COMPILER_NOT_AVAILABLE)
    DSHAL_CL_CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    DSHAL_CL_CASE(CL_OUT_OF_RESOURCES)
    DSHAL_CL_CASE(CL_OUT_OF_HOST_MEMORY)
    DSHAL_CL_CASE(CL_MEM_COPY_OVERLAP)
    DSHAL_CL_CASE(CL_BUILD_PROGRAM_FAILURE)
    DSHAL_CL_CASE(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    DSHAL_CL_CASE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    DSHAL_CL_CASE(CL_INVALID_VALUE)
    DSHAL_CL_CASE(CL_INVALID_PLATFORM)
    DSHAL_CL_CASE(CL_INVALID_DEVICE)
    DSHAL_CL_CASE(CL_INVALID_CONTEXT)
    DSHAL_CL_CASE(CL_INVALID_COMMAND_QUEUE)
    DSHAL_CL_CASE(CL_INVALID_HOST_PTR)
    DSHAL_CL_CASE(CL_INVALID_MEM_OBJECT)
    DSHAL_CL_CASE(CL_INVALID_BINARY)
    DSHAL_CL_CASE(CL_INVALID_BUILD_OPTIONS)
    DSHAL_CL_CASE(CL_INVALID_PROGRAM)
    DSHAL_CL_CASE(CL_INVALID_PROGRAM_EXECUTABLE)
    DSHAL_CL_CASE(CL_INVALID_KERNEL_NAME)
    DSHAL_CL_CASE(CL_INVALID_KERNEL)
    DSHAL_CL_CASE(CL_INVALID_ARG_INDEX)
    DSHAL_CL_CASE(CL_INVALID_ARG_VALUE)
    DSHAL_CL_CASE(CL_INVALID_ARG_SIZE)
    DSHAL_CL_CASE(CL_INVALID_KERNEL_ARGS)
    DSHAL_CL_CASE(CL_INVALID_WORK_DIMENSION)
    DSHAL_CL_CASE(CL_INVALID_WORK_GROUP_SIZE)
    DSHAL_CL_CASE(CL_INVALID_WORK_ITEM_SIZE)
    DSHAL_CL_CASE(CL_INVALID_GLOBAL_OFFSET)
    DSHAL_CL_CASE(CL_INVALID_EVENT_WAIT_LIST)
    DSHAL_CL_CASE(CL_INVALID_EVENT)
    DSHAL_CL_CASE(CL_INVALID_OPERATION)
    DSHAL_CL_CASE(CL_INVALID_BUFFER_SIZE)
    DSHAL_CL_CASE(CL_INVALID_GLOBAL_WORK_SIZE)
#undef DSHAL_CL_CASE
    case -1001:
      return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL ICD is installed)";
    default:
      return "unknown OpenCL error";
  }
}

dshal_status cl_fail(cl_int err, const std::string& what) {
  dshal_status code = DSHAL_ERROR_DEVICE;
  if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY || err == CL_INVALID_BUFFER_SIZE)
    code = DSHAL_ERROR_OUT_OF_MEMORY;
  else if (err == CL_INVALID_VALUE || err == CL_INVALID_WORK_GROUP_SIZE || err == CL_INVALID_KERNEL_ARGS ||
           err == CL_INVALID_ARG_SIZE || err == CL_INVALID_ARG_VALUE || err == CL_INVALID_KERNEL_NAME)
    code = DSHAL_ERROR_INTERNAL;  // hal validated the arguments: these are dshal's bugs
  return fail(code, what + " failed: " + cl_error_name(err) + " (" + std::to_string(err) + ")");
}

namespace {

dshal_adapter_table make_table() {
  dshal_adapter_table t{};
  t.struct_size = sizeof(t);
  t.abi_version = DSHAL_ABI_VERSION;
  t.name = "opencl";
  t.description = "every OpenCL device the ICD loader finds (libOpenCL); kernels in OpenCL C 1.2";
  t.release = [] {};
  t.last_error = last_error;
  t.device_count = device_count;
  t.device_open = device_open;
  t.device_close = device_close;
  t.device_get_properties = device_get_properties;
  t.buffer_alloc = buffer_alloc;
  t.buffer_free = buffer_free;
  t.copy_h2d = copy_h2d;
  t.copy_d2h = copy_d2h;
  t.copy_d2d = copy_d2d;
  t.fill = fill;
  t.stream_create = stream_create;
  t.stream_destroy = stream_destroy;
  t.stream_synchronize = stream_synchronize;
  t.event_create = event_create;
  t.event_destroy = event_destroy;
  t.event_record = event_record;
  t.stream_wait_event = stream_wait_event;
  t.event_query = event_query;
  t.event_synchronize = event_synchronize;
  t.comm_create = comm_create;
  t.comm_destroy = comm_destroy;
  t.all_to_all = all_to_all;
  t.import_host_memory = import_host_memory;
  fill_compute_slots(&t);
  return t;
}

}  // namespace
}  // namespace dshal::opencl

extern "C" dshal_status dshal_opencl_negotiate(uint32_t min_abi, uint32_t max_abi, const dshal_host_services* host,
                                              const dshal_adapter_table** out_table) {
  *out_table = nullptr;
  if (min_abi > DSHAL_ABI_VERSION || max_abi < DSHAL_ABI_VERSION) return DSHAL_ERROR_ABI_MISMATCH;
  dshal::opencl::g_host = host;
  static const dshal_adapter_table table = dshal::opencl::make_table();
  *out_table = &table;
  return DSHAL_OK;
}
