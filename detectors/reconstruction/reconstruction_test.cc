// The multivariate test: the fit finds the baseline's principal subspace,
// the batched row errors equal a plain residual computed row by row, and
// the test holds its false-alarm rate on rows of the baseline's law while
// it flags a correlation that flips with every marginal unchanged.
#include "detectors/reconstruction/reconstruction.h"

#include <cmath>
#include <random>

#include "detectors/detector_test_util.h"
#include "driftd/stats/reconstruction.h"

namespace driftd {
namespace {

// Rows of (a, b, c): a and b normal with correlation rho, c an independent
// normal scaled by 3 and shifted by 10 (standardization must undo both).
struct Rows {
  std::vector<double> a, b, c;
};
Rows correlated(std::mt19937_64& rng, size_t n, double rho) {
  std::normal_distribution<double> z;
  Rows r;
  for (size_t i = 0; i < n; ++i) {
    const double u = z(rng), v = z(rng);
    r.a.push_back(u);
    r.b.push_back(rho * u + std::sqrt(1 - rho * rho) * v);
    r.c.push_back(10 + 3 * z(rng));
  }
  return r;
}

stats::ReconstructionModel fit(const Rows& r) {
  const stats::ReconstructionColumn cols[] = {{"a", r.a}, {"b", r.b}, {"c", r.c}};
  auto m = stats::fit_reconstruction(cols, r.a.size());
  REQUIRE(m.has_value());
  return *m;
}

// A row's error as the definition says: the standardized row minus its
// projection on each component, the norm of what is left.
double residual_norm(const stats::ReconstructionModel& m, const std::vector<double>& x) {
  const size_t d = m.dimensions();
  std::vector<double> z(d), rest(d);
  for (size_t j = 0; j < d; ++j) rest[j] = z[j] = m.standardized(j, x[j]);
  for (size_t c = 0; c < m.components; ++c) {
    double coef = 0;
    for (size_t j = 0; j < d; ++j) coef += m.basis[c * d + j] * z[j];
    for (size_t j = 0; j < d; ++j) rest[j] -= coef * m.basis[c * d + j];
  }
  double ss = 0;
  for (const double v : rest) ss += v * v;
  return std::sqrt(ss);
}

// The rows' errors, by the batched loop.
std::vector<double> errors_of(const stats::ReconstructionModel& m, const Rows& r) {
  const size_t n = r.a.size();
  std::vector<double> z(3 * n), err(n);
  const std::vector<double>* cols[] = {&r.a, &r.b, &r.c};
  for (size_t j = 0; j < 3; ++j) {
    for (size_t i = 0; i < n; ++i) z[j * n + i] = m.standardized(j, (*cols[j])[i]);
  }
  m.errors(z.data(), n, n, err.data());
  return err;
}

stats::ReconstructionSums sums_of(const stats::ReconstructionModel& m, const Rows& r) {
  const size_t n = r.a.size();
  const std::vector<double> err = errors_of(m, r);
  stats::ReconstructionSums s;
  s.add(m, err.data(), n);
  return s;
}

TEST_CASE("reconstruction: the fit keeps the correlated pair's principal axis",
          "[detectors][reconstruction]") {
  std::mt19937_64 rng(7);
  const Rows base = correlated(rng, 20000, 0.8);
  const auto m = fit(base);
  // Eigenvalues of the standardized covariance: 1.8 (a + b), 1 (c), 0.2
  // (a - b). 65% of 3 needs two components: (a + b) / sqrt 2, then c.
  REQUIRE(m.components == 2);
  CHECK(m.explained_variance == Approx(2.8 / 3).margin(0.01));
  CHECK(m.basis[0] == Approx(std::sqrt(0.5)).margin(0.01));
  CHECK(m.basis[1] == Approx(std::sqrt(0.5)).margin(0.01));
  CHECK(std::fabs(m.basis[2]) < 0.01);
  CHECK(std::fabs(m.basis[5]) == Approx(1).margin(0.01));
  CHECK(m.means[2] == Approx(10).margin(0.1));
  CHECK(m.scales[2] == Approx(3).margin(0.1));
  CHECK(stats::reconstruction_flaw(m).empty());
  CHECK(m.rows == 20000);
  CHECK(m.error_mean > 0);
  CHECK(m.error_mean <= m.error_cap);
}

TEST_CASE("reconstruction: batched row errors equal the residual row by row, missing imputed",
          "[detectors][reconstruction]") {
  std::mt19937_64 rng(11);
  const auto m = fit(correlated(rng, 5000, 0.8));
  // 600 rows: more than one chunk of the batched loop; some cells missing.
  Rows r = correlated(rng, 600, 0.3);
  r.b[5] = NAN;
  r.c[7] = INFINITY;
  r.a[9] = r.b[9] = r.c[9] = NAN;
  // Values far past the baseline's (hostile input): standardized values are
  // bounded, and the error is finite.
  r.a[11] = 1e308;
  r.b[11] = -1e308;
  const size_t n = r.a.size();
  const std::vector<double> err = errors_of(m, r);
  for (size_t i = 0; i < n; ++i) {
    INFO("row " << i);
    if (i == 11) continue;
    CHECK(err[i] == Approx(residual_norm(m, {r.a[i], r.b[i], r.c[i]})).margin(1e-12));
  }
  CHECK(std::isfinite(err[11]));
  CHECK(err[11] > 1e100);
  CHECK(err[9] == 0);  // every value imputed: the baseline's mean row
}

TEST_CASE("reconstruction: both ways to the error (by the residual vectors, by the components)",
          "[detectors][reconstruction]") {
  // (a, b, c) at rho 0.8 keeps 2 of 3 vectors: the error comes from the one
  // residual vector. Four columns that all move together keep 1 of 4: it
  // comes from ||z||^2 minus the one component's part. Both equal the
  // residual computed row by row.
  std::mt19937_64 rng(13);
  std::normal_distribution<double> z;
  std::vector<std::vector<double>> cols(4);
  for (int i = 0; i < 4000; ++i) {
    const double common = z(rng);
    for (auto& c : cols) c.push_back(common + 0.3 * z(rng));
  }
  const stats::ReconstructionColumn four[] = {
      {"p", cols[0]}, {"q", cols[1]}, {"r", cols[2]}, {"s", cols[3]}};
  const auto together = stats::fit_reconstruction(four, 4000);
  REQUIRE(together.has_value());
  CHECK(together->components == 1);
  CHECK(together->residual_components() == 3);
  const auto pair = fit(correlated(rng, 4000, 0.8));
  CHECK(pair.residual_components() == 1);
  for (const auto* m : {&*together, &pair}) {
    const size_t d = m->dimensions();
    std::vector<double> zs(d * 100), err(100);
    std::vector<std::vector<double>> rows(100, std::vector<double>(d));
    for (size_t i = 0; i < 100; ++i) {
      for (size_t j = 0; j < d; ++j) {
        rows[i][j] = m->means[j] + m->scales[j] * 2 * z(rng);
        zs[j * 100 + i] = m->standardized(j, rows[i][j]);
      }
    }
    m->errors(zs.data(), 100, 100, err.data());
    for (size_t i = 0; i < 100; ++i) {
      CHECK(err[i] == Approx(residual_norm(*m, rows[i])).margin(1e-12));
    }
  }
}

TEST_CASE("reconstruction: calibrated on the baseline's law, a flipped correlation flagged",
          "[detectors][reconstruction]") {
  std::mt19937_64 rng(3);
  const auto m = fit(correlated(rng, 50000, 0.8));
  const ReconstructionDetector d;
  // 200 stable windows of 1,000 rows: p-values roughly uniform, so none
  // below 1e-4 (a chance of 2% if they are) and about 10 below 0.05.
  int below_5pct = 0;
  for (int w = 0; w < 200; ++w) {
    const auto s = sums_of(m, correlated(rng, 1000, 0.8));
    detector_test::RecordedStatistics got;
    d.multivariate({m, s}, got);
    const double p = *got["reconstruction_p_value"];
    CHECK(p > 1e-4);
    below_5pct += p < 0.05;
  }
  CHECK(below_5pct <= 25);
  // rho 0.8 -> -0.8: a and b keep their laws; the rows leave the subspace.
  const auto flipped = sums_of(m, correlated(rng, 1000, -0.8));
  detector_test::RecordedStatistics got;
  d.multivariate({m, flipped}, got);
  CHECK(*got["reconstruction_p_value"] < 1e-12);
  CHECK(*got["reconstruction_error_change"] > 1);
  CHECK(*got["reconstruction_error"] > m.error_mean);
  // No rows: nothing to say.
  detector_test::RecordedStatistics none;
  d.multivariate({m, stats::ReconstructionSums{}}, none);
  CHECK_FALSE(none["reconstruction_p_value"].has_value());
  CHECK_FALSE(none["reconstruction_error"].has_value());
}

TEST_CASE("reconstruction: nothing to fit, and hostile models refused",
          "[detectors][reconstruction]") {
  std::mt19937_64 rng(5);
  const Rows r = correlated(rng, 1000, 0.5);
  const std::vector<double> constant(1000, 4.0);
  // One column that varies: no fit; too few rows for three columns: none.
  const stats::ReconstructionColumn one[] = {{"a", r.a}, {"k", constant}};
  CHECK_FALSE(stats::fit_reconstruction(one, 1000).has_value());
  const std::span<const double> a(r.a), b(r.b), c(r.c);
  const stats::ReconstructionColumn short_ones[] = {
      {"a", a.first(299)}, {"b", b.first(299)}, {"c", c.first(299)}};
  CHECK_FALSE(stats::fit_reconstruction(short_ones, 299).has_value());
  const stats::ReconstructionColumn three[] = {{"a", r.a}, {"b", r.b}, {"c", r.c}};
  const auto m = stats::fit_reconstruction(three, 1000);
  REQUIRE(m.has_value());
  auto bad = *m;
  bad.basis[0] *= 2;
  CHECK(stats::reconstruction_flaw(bad) == "components: not orthonormal");
  bad = *m;
  bad.scales[1] = 0;
  CHECK_FALSE(stats::reconstruction_flaw(bad).empty());
  bad = *m;
  bad.components = 3;
  CHECK_FALSE(stats::reconstruction_flaw(bad).empty());
  bad = *m;
  bad.error_mean = bad.error_cap * 2;
  CHECK_FALSE(stats::reconstruction_flaw(bad).empty());
}

}  // namespace
}  // namespace driftd
