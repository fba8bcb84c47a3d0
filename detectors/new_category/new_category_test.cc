// The share of present values in categories the baseline never saw.
#include "detectors/new_category/new_category.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;

TEST_CASE("new_category_rate: new rows over present rows", "[detectors][new_category]") {
  const NewCategoryDetector d;
  {
    const CategoricalCase c({50, 50, 0, 0}, {45, 45, 7, 3}, 10);
    const auto got = detector_test::run_categorical(d, c);
    CHECK(*got["new_category_rate"] == Approx(0.1).epsilon(1e-12));
  }
  {
    const CategoricalCase none({50, 50}, {30, 70});
    const auto got = detector_test::run_categorical(d, none);
    CHECK(*got["new_category_rate"] == 0);
  }
  {
    const CategoricalCase empty({50, 50}, {0, 0});
    const auto got = detector_test::run_categorical(d, empty);
    CHECK_FALSE(got["new_category_rate"].has_value());
  }
}

}  // namespace
}  // namespace driftd
