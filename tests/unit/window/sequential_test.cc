// The sequential charts: the threshold from Siegmund's approximation
// (values of scipy.optimize.brentq on the same formula), the alarm of a
// persistent small shift, the floor, the run length on a stable stream,
// and the state's round trip.
#include <cmath>
#include <random>

#include "driftd/stats/calibrated_tests.h"
#include "driftd/window/sequential.h"
#include "test_util.h"

namespace driftd {
namespace {

// One calibrated column whose location test gave p, with this shift.
CheckReport window_with(double p, double mean_shift) {
  CheckReport rep;
  FeatureResult x;
  x.name = "amount";
  x.stats = {{"location_p_value", p}, {"mean_shift", mean_shift}};
  rep.features.push_back(std::move(x));
  return rep;
}

TEST_CASE("sequential: the threshold gives each chart its share of the run length",
          "[window][sequential]") {
  const SequentialDetector d(1000);
  CHECK(d.threshold(1) == Approx(5.062962504222).epsilon(1e-9));
  CHECK(d.threshold(2) == Approx(5.749639754409).epsilon(1e-9));
  CHECK(SequentialDetector(100).threshold(1) == Approx(2.841468975568).epsilon(1e-9));
}

TEST_CASE("sequential: a shift no window shows alone alarms within a few windows",
          "[window][sequential]") {
  SequentialDetector d(1000);
  const DriftRules rules;
  // z = 3 a window (two-sided p = 2.7e-3, far from Holm's level for a
  // family), a 0.1 sd shift: S grows by 2.5 a window, over h = 5.75 (two
  // charts) in the third.
  const double p = stats::normal_two_sided_p(3.0);
  for (int w = 1; w <= 3; ++w) {
    CheckReport rep = window_with(p, 0.1);
    d.update(rep, rules);
    INFO("window " << w);
    const FeatureResult& x = rep.features[0];
    CHECK(x.drift == (w == 3));
    if (w == 3) {
      REQUIRE(x.reasons.size() == 1);
      const DriftReason& r = x.reasons[0];
      CHECK(r.sequential);
      CHECK(r.test == "location_p_value");
      CHECK(r.windows == 3);
      CHECK(r.cusum == Approx(7.5));
      CHECK(r.effect_value == Approx(0.1));
      CHECK(std::isnan(r.adjusted_p_value));
      CHECK(rep.dataset_drift);
    }
  }
  // A shift the other way is the other chart's.
  SequentialDetector down(1000);
  for (int w = 0; w < 3; ++w) {
    CheckReport rep = window_with(p, -0.1);
    down.update(rep, rules);
    if (w == 2) CHECK(rep.features[0].drift);
  }
  // Below the floor (0.05 sd on average over the run) it never alarms.
  SequentialDetector small(1000);
  for (int w = 0; w < 50; ++w) {
    CheckReport rep = window_with(p, 0.01);
    small.update(rep, rules);
    CHECK_FALSE(rep.features[0].drift);
  }
}

TEST_CASE("sequential: on a stable stream alarms start about once per run length",
          "[window][sequential]") {
  // p uniform and the sign a coin: z standard normal, as under no change. Run length 100 for the
  // model's two charts, each restarted after its alarm: about 1,000 alarms
  // in 100,000 windows (Siegmund's approximation is within some 10% here).
  SequentialDetector d(100);
  const DriftRules rules;
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int onsets = 0;
  bool alarmed = false;
  for (int w = 0; w < 100000; ++w) {
    // The effect's sign is the score's: a fair coin under no change.
    const double shift = u(rng) < 0.5 ? -0.2 : 0.2;
    CheckReport rep = window_with(1 - u(rng), shift);
    d.update(rep, rules);
    const bool now = rep.features[0].drift;
    onsets += now && !alarmed;
    alarmed = now;
  }
  INFO("onsets " << onsets);
  CHECK(onsets > 700);
  CHECK(onsets < 1300);
}

TEST_CASE("sequential: the charts' state round-trips, and hostile state is refused",
          "[window][sequential]") {
  SequentialDetector d(1000);
  const DriftRules rules;
  CheckReport rep = window_with(stats::normal_two_sided_p(3.0), 0.1);
  d.update(rep, rules);
  ByteWriter out;
  d.save(out);
  SequentialDetector back(1000);
  ByteReader in(out.bytes());
  REQUIRE(back.load(in));
  CHECK(in.at_end());
  // Both go on alike: the alarm in the third window.
  for (int w = 2; w <= 3; ++w) {
    CheckReport a = window_with(stats::normal_two_sided_p(3.0), 0.1), b = a;
    d.update(a, rules);
    back.update(b, rules);
    CHECK(a.features[0].drift == b.features[0].drift);
  }
  ByteWriter hostile;
  hostile.u64(1);
  hostile.str("amount\nlocation_p_value");
  for (int side = 0; side < 2; ++side) {
    hostile.f64(-1.0);  // a CUSUM is never negative
    hostile.f64(0.0);
    hostile.u64(0);
  }
  ByteReader hr(hostile.bytes());
  CHECK_FALSE(SequentialDetector(1000).load(hr));
}

}  // namespace
}  // namespace driftd
