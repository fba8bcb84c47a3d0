// W1 in baseline standard deviations, worked by hand.
#include "detectors/wasserstein/wasserstein.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::NumericCase;

TEST_CASE("wasserstein: W1 over the baseline's standard deviation", "[detectors][wasserstein]") {
  const WassersteinDetector d;
  {
    NumericCase c({0.5, 0.5}, {0.5, 0.5}, 50);
    c.baseline.numeric.moments.std = 4;
    c.ecdf.wasserstein = 1;
    const auto got = detector_test::run_numeric(d, c);
    CHECK(*got["wasserstein"] == 0.25);
  }
  {
    // A constant baseline has no scale to measure in.
    NumericCase c({1}, {1}, 50);
    c.baseline.numeric.moments.std = 0;
    c.ecdf.wasserstein = 1;
    const auto got = detector_test::run_numeric(d, c);
    CHECK_FALSE(got["wasserstein"].has_value());
  }
  {
    NumericCase empty({0.5, 0.5}, {0, 0}, 0);
    const auto got = detector_test::run_numeric(d, empty);
    CHECK_FALSE(got["wasserstein"].has_value());
  }
}

}  // namespace
}  // namespace driftd
