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
    // No singleton among 100 baseline values: an unseen mass of 1/100, so 2
    // new values of 40 are P(Poisson(0.4) >= 2), scipy's poisson.sf(1, 0.4).
    const CategoricalCase c({50, 50, 0}, {19, 19, 2}, 2);
    const auto got = detector_test::run_categorical(d, c);
    CHECK(*got["new_category_p_value"] == Approx(0.061551935550104998).epsilon(1e-9));
  }
  {
    const CategoricalCase empty({50, 50}, {0, 0});
    const auto got = detector_test::run_categorical(d, empty);
    CHECK_FALSE(got["new_category_rate"].has_value());
    CHECK_FALSE(got["new_category_p_value"].has_value());
  }
}

}  // namespace
}  // namespace driftd
