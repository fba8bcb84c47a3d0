// The Jensen-Shannon distance against scipy.spatial.distance.jensenshannon
// (base e) on the same shares.
#include "detectors/jensen_shannon/jensen_shannon.h"

#include <cmath>

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::CategoricalCase;
using detector_test::NumericCase;

TEST_CASE("jensen_shannon: scipy's distance, base e", "[detectors][jensen_shannon]") {
  const JensenShannonDetector d;
  {
    const NumericCase c({0.1, 0.2, 0.3, 0.4}, {0.25, 0.25, 0.25, 0.25}, 40);
    const auto got = detector_test::run_numeric(d, c);
    CHECK(*got["jensen_shannon"] == Approx(0.16692996572597965).epsilon(1e-12));
  }
  {
    const CategoricalCase c({10, 20, 30, 40}, {25, 25, 25, 25});
    const auto got = detector_test::run_categorical(d, c);
    CHECK(*got["jensen_shannon"] == Approx(0.16692996572597965).epsilon(1e-12));
  }
  {
    // Disjoint supports: the largest value, sqrt(ln 2).
    const CategoricalCase c({10, 0}, {0, 10});
    const auto got = detector_test::run_categorical(d, c);
    CHECK(*got["jensen_shannon"] == Approx(std::sqrt(std::log(2.0))).epsilon(1e-12));
  }
  {
    const CategoricalCase empty({10, 10}, {0, 0});
    const auto got = detector_test::run_categorical(d, empty);
    CHECK_FALSE(got["jensen_shannon"].has_value());
  }
}

}  // namespace
}  // namespace driftd
