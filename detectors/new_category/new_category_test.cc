// The share of present values in categories the baseline never saw.
#include "detectors/new_category/new_category.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;
using detector_test::RecordedStatistics;

TEST_CASE("new_category_rate: new rows over present rows", "[detectors][new_category]") {
  const NewCategoryDetector d;
  {
    const CategoricalCase c({50, 50, 0, 0}, {45, 45, 7, 3}, 10);
    RecordedStatistics got;
    d.categorical(c.view(), got);
    detector_test::check_declared(d, got, false);
    CHECK(*got["new_category_rate"] == Approx(0.1).epsilon(1e-12));
  }
  {
    const CategoricalCase none({50, 50}, {30, 70});
    RecordedStatistics got;
    d.categorical(none.view(), got);
    CHECK(*got["new_category_rate"] == 0);
  }
  {
    const CategoricalCase empty({50, 50}, {0, 0});
    RecordedStatistics got;
    d.categorical(empty.view(), got);
    CHECK_FALSE(got["new_category_rate"].has_value());
  }
}

}  // namespace
}  // namespace driftd
