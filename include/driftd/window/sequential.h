// Sequential detection across a model's windows: Page's CUSUM (E. S. Page
// 1954, "Continuous inspection schemes", Biometrika 41) on every
// calibrated test of every column, for the changes too small for one
// window to show at the false-alarm rate (a 0.1 sd shift at 1,000 events)
// but persistent enough to add up over a few.
//
// Each test's p-value in a window becomes a standard normal score under no
// change: z = Phi^-1(1 - p/2) with the sign of the effect for the tests of
// a signed change (location, scale, missing values), z = Phi^-1(1 - p) for
// the others. Each score feeds S = max(0, S + z - k), one chart per side
// for the signed tests; a chart over h, whose run (the windows since it
// was last 0) has moved the effect past the test's floor on average,
// makes its column drift with a "sequential" reason. k = 0.5 (tuned to a
// shift of one standard deviation per window) and h so that a stable
// stream's average run length to a false alarm is `run_length` windows
// for the whole model (default 10,000): each of the M charts gets M x run_length, by
// Siegmund's approximation ARL = (e^{2kb} - 2kb - 1) / (2k^2), b = h + 1.166
// (D. Siegmund 1985, "Sequential Analysis", ch. 2). A chart restarts at 0
// after its alarm, and when its test rejects in the window itself (the
// change is reported; a run spanning it would alarm again after it ended).
//
// Windows must not overlap (tumbling windows: step = size), or neighbouring
// scores would be correlated and the run length too short; the daemon runs
// it on tumbling windows only. The state is in the checkpoint (version 6)
// and starts afresh with a new baseline (the model key changes).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "driftd/check/check.h"
#include "driftd/common/binary_io.h"

namespace driftd {

class SequentialDetector {
 public:
  static constexpr double kReference = 0.5;  // k
  static constexpr double kHeadroom = 4;     // S at most h + this

  explicit SequentialDetector(double run_length) : run_length_(run_length) {}

  // Feeds the report's calibrated tests (those of columns judged by the
  // calibrated method) and marks the columns whose chart alarms: drift,
  // a DriftReason of kind "sequential", and the report re-summarized.
  void update(CheckReport& report, const DriftRules& rules);

  // h for `charts` charts at this detector's run length.
  double threshold(size_t charts) const;

  void save(ByteWriter& out) const;
  bool load(ByteReader& in);

 private:
  struct Side {
    double s = 0;           // the CUSUM
    double effect_sum = 0;  // of (effect - centre) over the run
    uint64_t windows = 0;   // the run's length
  };
  struct Chart {
    Side up, down;
  };
  double run_length_;
  std::map<std::string, Chart> charts_;  // by "column\ntest"
  mutable std::map<size_t, double> thresholds_;
};

}  // namespace driftd
