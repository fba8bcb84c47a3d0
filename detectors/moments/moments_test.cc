// Mean shift and standard deviation ratio in baseline units, worked by hand.
#include "detectors/moments/moments.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::NumericCase;

TEST_CASE("moments: mean shift and std ratio in baseline units, skewness of each side",
          "[detectors][moments]") {
  const MomentsDetector d;
  {
    NumericCase c({0.5, 0.5}, {0.5, 0.5}, 50);
    c.baseline.numeric.moments.mean = 10;
    c.baseline.numeric.moments.std = 2;
    c.baseline.numeric.moments.skewness = 0.5;
    c.current_moments.mean = 11;
    c.current_moments.std = 3;
    c.current_moments.skewness = -1;
    const auto got = detector_test::run_numeric(d, c);
    CHECK(*got["mean_shift"] == 0.5);
    CHECK(*got["std_ratio"] == 1.5);
    CHECK(*got["skewness"] == -1);
    CHECK(*got["baseline_skewness"] == 0.5);
  }
  {
    // A constant baseline: no unit for the shift or the ratio; a constant
    // current side has no skewness.
    NumericCase c({1}, {1}, 50);
    c.baseline.numeric.moments.std = 0;
    const auto got = detector_test::run_numeric(d, c);
    CHECK_FALSE(got["mean_shift"].has_value());
    CHECK_FALSE(got["std_ratio"].has_value());
    CHECK_FALSE(got["skewness"].has_value());
  }
}

}  // namespace
}  // namespace driftd
