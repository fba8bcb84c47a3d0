// The missing-rate test: 25 of 1,000 missing against the baseline's 100 of
// 10,000, the pooled two-proportion z test (scipy's 2 norm.sf(|z|)).
#include "detectors/missing/missing.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;
using detector_test::NumericCase;

TEST_CASE("missing: the rate's change and its two-proportion test, on both kinds",
          "[detectors][missing]") {
  const MissingDetector d;
  NumericCase n({0.5, 0.5}, {0.5, 0.5}, 975);
  n.baseline.rows = 10000;
  n.baseline.missing = 100;
  n.cells = {1000, 25, 0};
  const auto got = detector_test::run_numeric(d, n);
  CHECK(*got["missing_rate_change"] == Approx(0.015).epsilon(1e-12));
  CHECK(*got["missing_p_value"] == Approx(1.9815998694566877e-05).epsilon(1e-9));
  CategoricalCase c({10, 10}, {10, 10});
  c.baseline.rows = 20;
  c.cells = {20, 0, 0};
  const auto same = detector_test::run_categorical(d, c);
  CHECK(*same["missing_rate_change"] == 0);
  CHECK(*same["missing_p_value"] == 1);  // no missing value on either side
  c.cells = {};
  CHECK_FALSE(detector_test::run_categorical(d, c)["missing_p_value"].has_value());
}

}  // namespace
}  // namespace driftd
