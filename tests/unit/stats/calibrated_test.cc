// The default verdict's null laws against scipy (values computed with
// Debian's scipy on the inputs written out here) and the winsorized
// reference against numpy.clip.
#include <cmath>
#include <vector>

#include "driftd/stats/calibrated_tests.h"
#include "driftd/stats/robust.h"
#include "test_util.h"

namespace driftd::stats {
namespace {

TEST_CASE("chi-square with rare categories pooled: scipy on the pooled table", "[stats]") {
  // Expected counts in the smaller side: 498, 303, 149, 40, 6, 3, 1. The
  // last two (4 together, under 5) join the smallest kept bin:
  // chi2_contingency([[5000,3000,1500,400,100],[480,330,140,40,10]]).
  const std::vector<uint64_t> a = {5000, 3000, 1500, 400, 60, 30, 10};
  const std::vector<uint64_t> b = {480, 330, 140, 40, 6, 3, 1};
  const auto r = chi_square_pooled(a, b);
  REQUIRE(r);
  CHECK(r->dof == 4);
  CHECK(r->statistic == Approx(4.0423858075629466).epsilon(1e-12));
  CHECK(r->p_value == Approx(0.40029994549859838).epsilon(1e-9));
  // An empty side has no test; empty categories are skipped.
  CHECK_FALSE(chi_square_pooled(a, std::vector<uint64_t>(a.size(), 0)));
  const std::vector<uint64_t> a0 = {10, 0, 10}, b0 = {10, 0, 10};
  REQUIRE(chi_square_pooled(a0, b0));
  CHECK(chi_square_pooled(a0, b0)->p_value == Approx(1.0));
}

TEST_CASE("Poisson upper tail, two proportions, the unseen mass: scipy", "[stats]") {
  CHECK(poisson_at_least_p(5, 1.5) == Approx(0.018575936222140675).epsilon(1e-12));  // sf(4)
  CHECK(poisson_at_least_p(1, 0.2) == Approx(0.18126924692201815).epsilon(1e-12));
  CHECK(poisson_at_least_p(0, 3.0) == 1);
  CHECK(poisson_at_least_p(3, 0.0) == 0);
  CHECK(two_proportion_p(100, 10000, 25, 1000) == Approx(1.9815998694566877e-05).epsilon(1e-9));
  CHECK(two_proportion_p(0, 10000, 5, 1000) == Approx(1.5197467931756883e-12).epsilon(1e-6));
  CHECK(two_proportion_p(0, 100, 0, 100) == 1);
  CHECK(unseen_category_mass(3, 1000) == Approx(0.004));
  CHECK(unseen_category_mass(0, 0) == 1);
}

TEST_CASE("winsorized reference and window sums: numpy.clip on the same values", "[stats]") {
  // 0..1024 with both ends far out: the clamp points are the order
  // statistics at ranks 4 and 1020, the median at 512.
  std::vector<double> s(1025);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<double>(i);
  s.front() = -1e9;
  s.back() = 1e9;
  const RobustReference r = robust_reference(s);
  CHECK(r.lo == 4);
  CHECK(r.center == 512);
  CHECK(r.hi == 1020);
  CHECK(r.count == 1025);
  CHECK(r.mean == Approx(512).epsilon(1e-14));
  CHECK(r.var == Approx(87532.117073170739).epsilon(1e-12));
  CHECK(r.dev_mean == Approx(256.23024390243904).epsilon(1e-12));
  CHECK(r.dev_var == Approx(21878.179182867341).epsilon(1e-12));
  const std::vector<double> w = {-5, 3, 600, 2000, 512};
  const RobustMoments m = robust_moments(w, r);
  CHECK(m.count == 5);
  CHECK(m.clamped_sum == 4 + 4 + 600 + 1020 + 512);
  CHECK(m.deviation_sum == 508 + 508 + 88 + 508 + 0);
  // The same window against itself shifted: p small; against a copy of
  // the reference's own law: p of the z below.
  const RobustMoments same{1025, r.mean * 1025, r.dev_mean * 1025};
  CHECK(*robust_location_p(r, same) == Approx(1.0));
  CHECK(*robust_scale_p(r, same) == Approx(1.0));
  CHECK_FALSE(robust_location_p(r, RobustMoments{}));
  CHECK_FALSE(robust_location_p(robust_reference(std::vector<double>(10, 1.0)), m));
}

}  // namespace
}  // namespace driftd::stats
