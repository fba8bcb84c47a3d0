// The one table of detectors. Adding a detector: a folder under detectors/
// with <name>.h/.cc and its <name>_test.cc, a line here, its .cc in
// CMakeLists.txt (docs/EXTENDING.md).
#include "detectors/chi_square/chi_square.h"
#include "detectors/hellinger/hellinger.h"
#include "detectors/jensen_shannon/jensen_shannon.h"
#include "detectors/kolmogorov_smirnov/kolmogorov_smirnov.h"
#include "detectors/l_infinity/l_infinity.h"
#include "detectors/location/location.h"
#include "detectors/missing/missing.h"
#include "detectors/moments/moments.h"
#include "detectors/new_category/new_category.h"
#include "detectors/psi/psi.h"
#include "detectors/reconstruction/reconstruction.h"
#include "detectors/scale/scale.h"
#include "detectors/shares/shares.h"
#include "detectors/type_errors/type_errors.h"
#include "detectors/wasserstein/wasserstein.h"

namespace driftd {
namespace {
const PsiDetector kPsi;
const JensenShannonDetector kJensenShannon;
const HellingerDetector kHellinger;
const KolmogorovSmirnovDetector kKolmogorovSmirnov;
const WassersteinDetector kWasserstein;
const MomentsDetector kMoments;
const ChiSquareDetector kChiSquare;
const LInfinityDetector kLInfinity;
const NewCategoryDetector kNewCategory;
const LocationDetector kLocation;
const ScaleDetector kScale;
const SharesDetector kShares;
const MissingDetector kMissing;
const TypeErrorsDetector kTypeErrors;
const ReconstructionDetector kReconstruction;

const Detector* const kDetectors[] = {
    &kPsi,     &kJensenShannon, &kHellinger, &kKolmogorovSmirnov, &kWasserstein,
    &kMoments, &kChiSquare,     &kLInfinity, &kNewCategory,       &kLocation,
    &kScale,   &kShares,        &kMissing,   &kTypeErrors,        &kReconstruction,
};
}  // namespace

std::span<const Detector* const> all_detectors() {
  return kDetectors;
}

const StatisticInfo* find_statistic(std::string_view key) {
  for (const Detector* d : kDetectors) {
    for (const StatisticInfo& s : d->statistics()) {
      if (key == s.key) return &s;
    }
  }
  return nullptr;
}

std::vector<double> floored(std::span<const double> p, double floor) {
  std::vector<double> out(p.begin(), p.end());
  for (double& x : out) {
    if (x == 0) x = floor;
  }
  return out;
}

}  // namespace driftd
