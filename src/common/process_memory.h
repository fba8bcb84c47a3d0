// How the daemon's heap gives memory back to the system (glibc malloc).
//
// Loading a baseline briefly needs tens of MB (simdjson's parser capacity
// and a padded copy of the file); glibc keeps what is freed inside the heap,
// and after freeing a large mmapped block it raises its mmap threshold to
// that size, so the buffers made later (checkpoints, ingest batches, log
// lines of several MB) come from the heap too and fragment it: resident
// memory then creeps for a long time while the live heap stays flat (the
// 30-minute soak of docs/reliability.md, measured with heaptrack).
#pragma once

namespace driftd {

// At start-up: a fixed mmap threshold (large blocks mapped, and unmapped
// when freed, for the whole run).
void set_allocation_policy();

// After loading a configuration (start-up, reload) and now and then: hands
// the free pages of the heap back to the system (malloc_trim).
void return_free_memory();

}  // namespace driftd
