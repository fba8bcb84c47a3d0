// The shares test: the known categories' chi-square with rare ones pooled
// (scipy's chi2_contingency on the pooled table, as in
// tests/unit/stats/calibrated_test.cc); a new category (last, no baseline
// count) is left out.
#include "detectors/shares/shares.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;

TEST_CASE("shares: chi-square of the known categories, rare ones pooled, new ones left out",
          "[detectors][shares]") {
  const SharesDetector d;
  const CategoricalCase c({5000, 3000, 1500, 400, 60, 30, 10, 0}, {480, 330, 140, 40, 6, 3, 1, 50},
                          50);
  const auto got = detector_test::run_categorical(d, c);
  CHECK(*got["shares_p_value"] == Approx(0.40029994549859838).epsilon(1e-9));
  const CategoricalCase empty({10, 10}, {0, 0});
  CHECK_FALSE(detector_test::run_categorical(d, empty)["shares_p_value"].has_value());
}

}  // namespace
}  // namespace driftd
