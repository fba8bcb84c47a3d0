// Pearson's chi-square homogeneity test against
// scipy.stats.chi2_contingency(correction=False) on the same counts.
#include "detectors/chi_square/chi_square.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;

TEST_CASE("chi_square: scipy's statistic and p-value, null on an empty side",
          "[detectors][chi_square]") {
  const ChiSquareDetector d;
  {
    const CategoricalCase c({10, 20, 30, 40}, {25, 25, 25, 25});
    const auto got = detector_test::run_categorical(d, c);
    CHECK(*got["chi2_statistic"] == Approx(10.900210900210901).epsilon(1e-12));
    CHECK(*got["chi2_p_value"] == Approx(0.012277894009958807).epsilon(1e-9));
  }
  {
    const CategoricalCase empty({10, 20}, {0, 0});
    const auto got = detector_test::run_categorical(d, empty);
    CHECK_FALSE(got["chi2_statistic"].has_value());
    CHECK_FALSE(got["chi2_p_value"].has_value());
  }
  {
    // Numeric columns get nothing from it.
    const detector_test::NumericCase c({0.5, 0.5}, {0.5, 0.5}, 10);
    const auto got = detector_test::run_numeric(d, c);
    CHECK(got.values.empty());
  }
}

}  // namespace
}  // namespace driftd
