// The type-error test: 5 of 1,000 against the baseline's 0 of 10,000, the
// pooled two-proportion z test (scipy's 2 norm.sf(|z|)).
#include "detectors/type_errors/type_errors.h"

#include "detectors/detector_test_util.h"

namespace driftd {
namespace {
using detector_test::NumericCase;

TEST_CASE("type_errors: the share of values that are not numbers", "[detectors][type_errors]") {
  const TypeErrorsDetector d;
  NumericCase n({0.5, 0.5}, {0.5, 0.5}, 995);
  n.baseline.rows = 10000;
  n.cells = {1000, 0, 5};
  CHECK(*detector_test::run_numeric(d, n)["type_error_p_value"] ==
        Approx(1.5197467931756883e-12).epsilon(1e-6));
  n.cells = {1000, 0, 0};
  CHECK(*detector_test::run_numeric(d, n)["type_error_p_value"] == 1);
}

}  // namespace
}  // namespace driftd
