// The largest difference of a category's share, worked by hand.
#include "detectors/l_infinity/l_infinity.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;

TEST_CASE("l_infinity: the largest share difference, new categories included",
          "[detectors][l_infinity]") {
  const LInfinityDetector d;
  {
    // Shares 0.1 0.2 0.3 0.4 against 0.25 each: |0.1 - 0.25| = 0.15 is the largest.
    const CategoricalCase c({10, 20, 30, 40}, {25, 25, 25, 25});
    const auto got = detector_test::run_categorical(d, c);
    CHECK(*got["l_infinity"] == Approx(0.15).epsilon(1e-12));
  }
  {
    // A new category (last, 0 in the baseline) holding 60% of the rows.
    const CategoricalCase c({50, 50, 0}, {20, 20, 60}, 60);
    const auto got = detector_test::run_categorical(d, c);
    CHECK(*got["l_infinity"] == Approx(0.6).epsilon(1e-12));
  }
  {
    const CategoricalCase empty({10, 20}, {0, 0});
    const auto got = detector_test::run_categorical(d, empty);
    CHECK_FALSE(got["l_infinity"].has_value());
  }
}

}  // namespace
}  // namespace driftd
