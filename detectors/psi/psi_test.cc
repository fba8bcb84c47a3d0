// PSI on shares written out by hand; the expected values are
// sum((c - b) * log(c / b)) computed with numpy on the same shares.
#include "detectors/psi/psi.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;
using detector_test::NumericCase;

TEST_CASE("psi: the sum over bins, zero shares floored at 1e-4", "[detectors][psi]") {
  const PsiDetector d;
  {
    const NumericCase c({0.1, 0.2, 0.3, 0.4}, {0.25, 0.25, 0.25, 0.25}, 40);
    const auto got = detector_test::run_numeric(d, c);
    CHECK(*got["psi"] == Approx(0.22821740957339182).epsilon(1e-12));
  }
  {
    // Two empty current bins count as 1e-4 each, without renormalising.
    const NumericCase c({0.1, 0.2, 0.3, 0.4}, {0.5, 0.5, 0, 0}, 40);
    const auto got = detector_test::run_numeric(d, c);
    CHECK(*got["psi"] == Approx(6.6365624691509968).epsilon(1e-12));
  }
  {
    // The same shares as categories give the same value.
    const CategoricalCase c({10, 20, 30, 40}, {25, 25, 25, 25});
    const auto got = detector_test::run_categorical(d, c);
    CHECK(*got["psi"] == Approx(0.22821740957339182).epsilon(1e-12));
  }
  {
    const NumericCase same({0.5, 0.5}, {0.5, 0.5}, 10);
    const auto got = detector_test::run_numeric(d, same);
    CHECK(*got["psi"] == 0);
  }
  {
    const NumericCase empty({0.5, 0.5}, {0, 0}, 0);
    const auto got = detector_test::run_numeric(d, empty);
    CHECK_FALSE(got["psi"].has_value());
  }
}

}  // namespace
}  // namespace driftd
