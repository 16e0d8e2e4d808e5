// What every built-in adapter needs at its C boundary: a per-thread failure message per adapter
// (the table's last_error), a guard that turns escaping exceptions into statuses, and the copy of
// a string into a fixed properties field. Header-only; plugins under adapters/ carry their own.
#pragma once

#include <dshal/adapter.h>

#include <cstring>
#include <exception>
#include <functional>
#include <new>
#include <string>

namespace dshal::backend {

// Tag is the adapter's own type, so each adapter keeps its own message per thread.
template <class Tag>
struct AdapterErrors {
  static std::string& message() {
    thread_local std::string m;
    return m;
  }
  static const char* last_error() { return message().c_str(); }
  static dshal_status fail(dshal_status code, std::string msg) {
    message() = std::move(msg);
    return code;
  }
  // Runs f; nothing thrown inside crosses the C ABI.
  static dshal_status guarded(const std::function<dshal_status()>& f) {
    try {
      return f();
    } catch (const std::bad_alloc&) {
      return fail(DSHAL_ERROR_OUT_OF_MEMORY, "host allocation failed");
    } catch (const std::exception& e) {
      return fail(DSHAL_ERROR_INTERNAL, e.what());
    } catch (...) {
      return fail(DSHAL_ERROR_INTERNAL, "unknown exception");
    }
  }
};

// Copies s into a fixed-size, NUL-terminated properties field, truncating.
inline void copy_str(char* dst, size_t cap, const std::string& s) {
  std::strncpy(dst, s.c_str(), cap - 1);
  dst[cap - 1] = '\0';
}

}  // namespace dshal::backend
