// `driftd run`: the long-running monitor.
//
// Threads: one ingest thread owns every source, decoder and monitor (no
// locks on the event path); HTTP connection threads serve /healthz,
// /readyz, /metrics and the JSON API from a published copy of the counters
// and snapshots, which the ingest thread refreshes once per batch and at
// every window close (never per event), and hand POSTed events to the HTTP
// source's queue (src/sources/http/http_ingest.h), whose committer thread makes
// them durable.
//
// Crash safety: a checkpoint holds every monitor's state and every source's
// offset, taken together between batches, written atomically (temp file,
// fsync, rename) with a version and an XXH3 checksum. Windows are appended
// to the windows log (and it is fsynced) before the checkpoint that covers
// them, so after a kill a restart replays from the last checkpoint and may
// write a window again, with the same id and the same content; it never
// loses one or counts an event twice.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "driftd/common/result.h"
#include "driftd/daemon/daemon_config.h"
#include "driftd/decode/event_decoder.h"

namespace driftd {

struct RunOptions {
  bool exit_when_done = false;  // exit once every non-following source hit its end
};

// Runs until SIGTERM/SIGINT (or, with exit_when_done, the end of the input).
// Returns the process exit status.
int run_daemon(const std::string& config_path, const RunOptions& options);

}  // namespace driftd
