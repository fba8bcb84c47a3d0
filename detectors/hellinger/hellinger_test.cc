// The Hellinger distance sqrt(1 - sum(sqrt(p q))), computed with numpy on
// the same shares.
#include "detectors/hellinger/hellinger.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;
using detector_test::NumericCase;

TEST_CASE("hellinger: from the Bhattacharyya coefficient, 0 to 1", "[detectors][hellinger]") {
  const HellingerDetector d;
  {
    const NumericCase c({0.1, 0.2, 0.3, 0.4}, {0.25, 0.25, 0.25, 0.25}, 40);
    const auto got = detector_test::run_numeric(d, c);
    CHECK(*got["hellinger"] == Approx(0.16789959640267496).epsilon(1e-12));
  }
  {
    const CategoricalCase disjoint({10, 0}, {0, 10});
    const auto got = detector_test::run_categorical(d, disjoint);
    CHECK(*got["hellinger"] == Approx(1.0).epsilon(1e-12));
  }
  {
    // Identical shares: 0 up to rounding, and never NaN where rounding
    // puts the coefficient a hair above 1.
    const CategoricalCase same({1, 1, 1}, {7, 7, 7});
    const auto got = detector_test::run_categorical(d, same);
    CHECK(*got["hellinger"] >= 0);
    CHECK(*got["hellinger"] < 1e-7);
  }
  {
    const NumericCase empty({0.5, 0.5}, {0, 0}, 0);
    const auto got = detector_test::run_numeric(d, empty);
    CHECK_FALSE(got["hellinger"].has_value());
  }
}

}  // namespace
}  // namespace driftd
