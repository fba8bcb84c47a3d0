#include "src/common/process_memory.h"

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#include <malloc.h>
#define DRIFTD_GLIBC_MALLOC 1
#endif

namespace driftd {

void set_allocation_policy() {
#ifdef DRIFTD_GLIBC_MALLOC
  // glibc's default (128 KiB, adjusted upwards as mapped blocks are freed,
  // mallopt(3)); setting it turns the adjustment off.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

void return_free_memory() {
#ifdef DRIFTD_GLIBC_MALLOC
  malloc_trim(0);
#endif
}

}  // namespace driftd
