// The KS detector passes D through and takes its p-value as
// scipy.stats.ks_2samp(method='asymp') does: kstwo.sf(D, round(m n / (m + n))).
#include "detectors/kolmogorov_smirnov/kolmogorov_smirnov.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::NumericCase;

TEST_CASE("ks: D from the ECDF walk, scipy's asymptotic p-value", "[detectors][ks]") {
  const KolmogorovSmirnovDetector d;
  {
    // A baseline sample of 100, 50 current values, D = 0.2:
    // scipy.stats.kstwo.sf(0.2, 33).
    NumericCase c({0.5, 0.5}, {0.5, 0.5}, 50);
    c.ecdf.ks = 0.2;
    const auto got = detector_test::run_numeric(d, c);
    CHECK(*got["ks_statistic"] == 0.2);
    CHECK(*got["ks_p_value"] == Approx(0.12401162736689486).epsilon(1e-9));
  }
  {
    NumericCase empty({0.5, 0.5}, {0, 0}, 0);
    const auto got = detector_test::run_numeric(d, empty);
    CHECK_FALSE(got["ks_statistic"].has_value());
    CHECK_FALSE(got["ks_p_value"].has_value());
  }
}

}  // namespace
}  // namespace driftd
