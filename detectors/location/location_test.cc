// The location test's p-value from the winsorized sums: z = 0.3 /
// sqrt(1 (1/100 + 1/1000)), scipy's 2 norm.sf(z).
#include "detectors/location/location.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::NumericCase;

TEST_CASE("location: the winsorized mean's z test, null on an empty side",
          "[detectors][location]") {
  const LocationDetector d;
  NumericCase c({0.5, 0.5}, {0.5, 0.5}, 100);
  c.robust_baseline.count = 1000;
  c.robust_baseline.mean = 0;
  c.robust_baseline.var = 1;
  c.robust_current = {100, 30.0, 0};
  const auto got = detector_test::run_numeric(d, c);
  CHECK(*got["location_p_value"] == Approx(0.0042312328997581479).epsilon(1e-9));
  c.robust_current = {};
  CHECK_FALSE(detector_test::run_numeric(d, c)["location_p_value"].has_value());
}

}  // namespace
}  // namespace driftd
