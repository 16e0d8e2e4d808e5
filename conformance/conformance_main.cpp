// The suite as a plain GoogleTest program for ctest: devices from DSHAL_CONFORMANCE_DEVICES (a
// device list, default cpu:0).
#include <cstdlib>
#include <iostream>

#include "harness.hpp"

int main(int argc, char** argv) {
  const char* env = std::getenv("DSHAL_CONFORMANCE_DEVICES");
  std::vector<std::string> ids;
  const dshal::Status st = dshal::resolve_device_ids(env && *env ? env : "cpu:0", &ids);
  if (!st.ok()) {
    std::cerr << "DSHAL_CONFORMANCE_DEVICES: " << st.message() << "\n";
    return 2;
  }
  dshal::conformance::set_device_ids(ids);
  testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  dshal::conformance::close_devices();
  return rc;
}
