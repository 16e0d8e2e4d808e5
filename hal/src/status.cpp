// Status names and formatting, and the registry of live hal objects used by validation.
#include <dshal/dshal.hpp>

#include <mutex>
#include <shared_mutex>
#include <unordered_set>

#include "objects.hpp"

namespace dshal {

const char* status_name(dshal_status code) {
  switch (code) {
    case DSHAL_OK: return "OK";
    case DSHAL_ERROR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case DSHAL_ERROR_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    case DSHAL_ERROR_UNSUPPORTED: return "UNSUPPORTED";
    case DSHAL_ERROR_NOT_READY: return "NOT_READY";
    case DSHAL_ERROR_DEVICE: return "DEVICE";
    case DSHAL_ERROR_UNAVAILABLE: return "UNAVAILABLE";
    case DSHAL_ERROR_ABI_MISMATCH: return "ABI_MISMATCH";
    case DSHAL_ERROR_NOT_FOUND: return "NOT_FOUND";
    case DSHAL_ERROR_INTERNAL: return "INTERNAL";
    case DSHAL_STATUS_MIN_ENUM: case DSHAL_STATUS_MAX_ENUM: break;
  }
  return "UNKNOWN";
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  return std::string(status_name(code_)) + ": " + message_;
}

namespace detail {
namespace {
std::shared_mutex live_mutex;
std::unordered_set<const void*>& live_set() {
  static std::unordered_set<const void*> s;
  return s;
}
}  // namespace

void register_live(const void* obj) {
  std::unique_lock lock(live_mutex);
  live_set().insert(obj);
}
void unregister_live(const void* obj) {
  std::unique_lock lock(live_mutex);
  live_set().erase(obj);
}
bool is_live(const void* obj) {
  std::shared_lock lock(live_mutex);
  return live_set().count(obj) != 0;
}

Status adapter_status(const dshal_adapter_table* t, dshal_status code, const char* what) {
  if (code == DSHAL_OK) return {};
  std::string msg = t->last_error ? t->last_error() : "";
  if (msg.empty()) msg = std::string(what) + " failed";
  return Status(code, std::string(what) + ": " + msg);
}

}  // namespace detail
}  // namespace dshal
