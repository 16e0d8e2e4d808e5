// Status words a kernel sets when device-resident input is bad (backends/device_status.hpp has
// the messages): the first error wins, later ones leave the words alone.
#define DSHAL_STATUS_EMBEDDING_ID 1
#define DSHAL_STATUS_GROUP_OFFSETS 2
#define DSHAL_STATUS_ROPE_POSITION 3

inline void report_status(global int* status, int code, int a, int b, int c) {
  if (atomic_cmpxchg(status, 0, code) == 0) {
    status[1] = a;
    status[2] = b;
    status[3] = c;
  }
}
