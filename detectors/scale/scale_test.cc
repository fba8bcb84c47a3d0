// The scale test's p-value from the winsorized absolute deviations:
// z = 0.1 / sqrt(0.36 (1/100 + 1/1000)), scipy's 2 norm.sf(z).
#include "detectors/scale/scale.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::NumericCase;

TEST_CASE("scale: the winsorized mean absolute deviation's z test", "[detectors][scale]") {
  const ScaleDetector d;
  NumericCase c({0.5, 0.5}, {0.5, 0.5}, 100);
  c.robust_baseline.count = 1000;
  c.robust_baseline.dev_mean = 0.8;
  c.robust_baseline.dev_var = 0.36;
  c.robust_current = {100, 0, 90.0};
  const auto got = detector_test::run_numeric(d, c);
  CHECK(*got["scale_p_value"] == Approx(0.11203684368556367).epsilon(1e-9));
  c.robust_baseline.dev_var = 0;  // a constant baseline: nothing to test against
  CHECK_FALSE(detector_test::run_numeric(d, c)["scale_p_value"].has_value());
}

}  // namespace
}  // namespace driftd
