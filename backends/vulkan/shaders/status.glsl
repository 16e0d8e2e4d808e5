// Status words a shader sets when device-resident input is bad (backends/device_status.hpp has the
// messages): the first error wins, later ones leave the words alone. The stream's status words are
// an operand like any other (vulkan_status.cpp: status_operand); pass its index as b.
#define DSHAL_STATUS_EMBEDDING_ID 1
#define DSHAL_STATUS_GROUP_OFFSETS 2
#define DSHAL_STATUS_ROPE_POSITION 3

#define REPORT_STATUS(b, code, x, y, z)                   \
  {                                                       \
    if (atomicCompSwap(WORDS(b)[0], 0u, uint(code)) == 0u) { \
      WORDS(b)[1] = uint(x);                              \
      WORDS(b)[2] = uint(y);                              \
      WORDS(b)[3] = uint(z);                              \
    }                                                     \
  }
