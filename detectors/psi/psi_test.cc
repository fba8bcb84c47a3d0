// PSI on shares written out by hand; the expected values are
// sum((c - b) * log(c / b)) computed with numpy on the same shares.
#include "detectors/psi/psi.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;
using detector_test::NumericCase;
using detector_test::RecordedStatistics;

TEST_CASE("psi: the sum over bins, zero shares floored at 1e-4", "[detectors][psi]") {
  const PsiDetector d;
  {
    const NumericCase c({0.1, 0.2, 0.3, 0.4}, {0.25, 0.25, 0.25, 0.25}, 40);
    RecordedStatistics got;
    d.numeric(c.view(), got);
    detector_test::check_declared(d, got, true);
    CHECK(*got["psi"] == Approx(0.22821740957339182).epsilon(1e-12));
  }
  {
    // Two empty current bins count as 1e-4 each, without renormalising.
    const NumericCase c({0.1, 0.2, 0.3, 0.4}, {0.5, 0.5, 0, 0}, 40);
    RecordedStatistics got;
    d.numeric(c.view(), got);
    CHECK(*got["psi"] == Approx(6.6365624691509968).epsilon(1e-12));
  }
  {
    // The same shares as categories give the same value.
    const CategoricalCase c({10, 20, 30, 40}, {25, 25, 25, 25});
    RecordedStatistics got;
    d.categorical(c.view(), got);
    detector_test::check_declared(d, got, false);
    CHECK(*got["psi"] == Approx(0.22821740957339182).epsilon(1e-12));
  }
  {
    const NumericCase same({0.5, 0.5}, {0.5, 0.5}, 10);
    RecordedStatistics got;
    d.numeric(same.view(), got);
    CHECK(*got["psi"] == 0);
  }
  {
    const NumericCase empty({0.5, 0.5}, {0, 0}, 0);
    RecordedStatistics got;
    d.numeric(empty.view(), got);
    CHECK_FALSE(got["psi"].has_value());
  }
}

}  // namespace
}  // namespace driftd
