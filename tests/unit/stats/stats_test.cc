#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "driftd/stats/kolmogorov.h"
#include "driftd/stats/quantile.h"
#include "driftd/stats/two_sample.h"
#include "test_util.h"

using namespace driftd;

TEST_CASE("kolmogorov_sf matches scipy.stats.kstwo.sf in every regime", "[stats][ks]") {
  std::ifstream in(test::data_path("kstwo.csv"));
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);  // header
  size_t rows = 0;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string a, b, c;
    std::getline(ss, a, ',');
    std::getline(ss, b, ',');
    std::getline(ss, c, ',');
    const uint64_t n = std::stoull(a);
    const double x = std::stod(b), want = std::stod(c);
    const double got = stats::kolmogorov_sf(n, x);
    INFO("n=" << n << " x=" << x << " scipy=" << want << " driftd=" << got);
    CHECK(test::agrees(want, got, true));
    ++rows;
  }
  CHECK(rows > 200);
}

TEST_CASE("Durbin matrix and Smirnov agree where both are exact", "[stats][ks]") {
  // For x >= 0.5, P(D_n >= x) = 2 P(D_n^+ >= x) exactly.
  for (uint64_t n : {3u, 10u, 40u}) {
    for (double x : {0.55, 0.7, 0.9}) {
      const double durbin = 1 - stats::kolmogorov_cdf_durbin(n, x);
      const double smirnov = 2 * stats::smirnov_sf(n, x);
      INFO("n=" << n << " x=" << x);
      CHECK(std::fabs(durbin - smirnov) <= 1e-9 * smirnov + 1e-15);
    }
  }
}

TEST_CASE("smirnov_sf equals the whole Birnbaum-Tingey sum in 80-bit arithmetic", "[stats][ks]") {
  // Every term from scratch (lgammal), summed in full, in long double: 11
  // more bits than the double lgamma differences whose rounding (about
  // 1e-10 at n = 200,000) the term-by-term walk inherits.
  auto whole_sum = [](uint64_t n_int, double xd) {
    const long double n = static_cast<long double>(n_int), x = xd;
    const auto jmax = static_cast<int64_t>(std::floor(static_cast<double>(n_int) * (1 - xd)));
    std::vector<long double> logs;
    for (int64_t j = 0; j <= jmax; ++j) {
      const long double dj = static_cast<long double>(j), a = 1 - x - dj / n;
      if (a <= 0) continue;
      logs.push_back(std::lgammal(n + 1) - std::lgammal(dj + 1) - std::lgammal(n - dj + 1) +
                     (n - dj) * std::log(a) + (dj - 1) * std::log(x + dj / n) + std::log(x));
    }
    const long double top = *std::max_element(logs.begin(), logs.end());
    long double sum = 0;
    for (const long double l : logs) sum += std::exp(l - top);
    return static_cast<double>(std::exp(top) * sum);
  };
  size_t smooth = 0;
  for (const uint64_t n : {70u, 500u, 5000u, 50000u, 200000u}) {
    for (const double x : {0.005, 0.007, 0.01, 0.013, 0.02, 0.05, 0.3, 0.6}) {
      const double want = whole_sum(n, x);
      if (!(want > 1e-300)) continue;
      INFO("n=" << n << " x=" << x);
      CHECK(std::fabs(stats::smirnov_sf_terms(n, x) - want) <= 1e-9 * want);
      if (const auto p = stats::smirnov_sf_smooth(n, x)) {
        CHECK(std::fabs(*p - want) <= 1e-12 * want);
        ++smooth;
      }
      CHECK(std::fabs(stats::smirnov_sf(n, x) - want) <= 1e-9 * want);
    }
  }
  CHECK(smooth >= 12);  // the smooth sum serves the large-n cases
  // It declines below a few thousand terms (the walk is cheap there).
  CHECK_FALSE(stats::smirnov_sf_smooth(1000, 0.1).has_value());
  CHECK(stats::smirnov_sf_smooth(50000, 0.013).has_value());
}

TEST_CASE("ks_two_sample_p_value uses round-half-even of m*n/(m+n)", "[stats][ks]") {
  // m = n = 1: en = 0.5 rounds to 0 (as numpy.round does): no p-value.
  CHECK(std::isnan(stats::ks_two_sample_p_value(1.0, 1, 1)));
  // m = 3, n = 1: en = 0.75 rounds to 1; kstwo.sf(x, 1) = 2(1 - x) for x >= 0.5.
  CHECK(stats::ks_two_sample_p_value(0.75, 3, 1) == Approx(0.5));
}

TEST_CASE("ks_statistic and wasserstein1 on hand-worked samples", "[stats]") {
  const std::vector<double> a{1, 2, 3}, b{2.5, 7};
  CHECK(stats::ks_statistic(a, b) == Approx(2.0 / 3));
  // |F_a - F_b| is 1/3 on [1,2), 2/3 on [2,2.5), 1/6 on [2.5,3), 1/2 on [3,7).
  CHECK(stats::wasserstein1(a, b) == Approx(1.0 / 3 + 2.0 / 3 * 0.5 + 1.0 / 6 * 0.5 + 0.5 * 4));
  const std::vector<double> same{1, 1, 2};
  CHECK(stats::ks_statistic(same, same) == 0.0);
  CHECK(stats::wasserstein1(same, same) == 0.0);
}

TEST_CASE("quantile cut points follow numpy's linear method, duplicates removed", "[stats]") {
  const std::vector<double> x{1, 2, 3, 4};
  // numpy.quantile([1,2,3,4], [0.5]) = 2.5; [0.25] = 1.75.
  CHECK(stats::quantile_linear(x, 0.5) == 2.5);
  CHECK(stats::quantile_linear(x, 0.25) == 1.75);
  const std::vector<double> ties{0, 0, 0, 0, 0, 0, 0, 1, 1, 2};
  const auto cuts = stats::quantile_cut_points(ties, 10);
  // numpy: [0.0, 0.2999999999999998, 1.0, 1.0999999999999996], bit for bit.
  CHECK(cuts == std::vector<double>{0.0, 0.2999999999999998, 1.0, 1.0999999999999996});
}

TEST_CASE("chi-square homogeneity: scipy values and degenerate tables", "[stats]") {
  // scipy.stats.chi2_contingency([[10, 20, 30], [20, 20, 10]], correction=False)
  const std::vector<uint64_t> a{10, 20, 30}, b{20, 20, 10};
  const auto r = stats::chi_square_homogeneity(a, b);
  REQUIRE(r);
  CHECK(r->statistic == Approx(12.52777777777778).epsilon(1e-12));
  CHECK(r->p_value == Approx(0.0019038276076954943).epsilon(1e-9));
  CHECK(r->dof == 2);
  const std::vector<uint64_t> one_a{5}, one_b{9};
  CHECK(stats::chi_square_homogeneity(one_a, one_b)->p_value == 1.0);
  const std::vector<uint64_t> empty_b{0, 0};
  const std::vector<uint64_t> some_a{1, 2};
  CHECK_FALSE(stats::chi_square_homogeneity(some_a, empty_b));
}

TEST_CASE("ecdf_distances equals scipy's definitions by brute force, ties included", "[stats]") {
  // scipy: cdf_x = searchsorted(sorted x, all values, side='right') / len(x);
  // D = max |cdf_a - cdf_b|; W1 = sum(|cdf_a - cdf_b|[:-1] * diff(sorted all)).
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 3000; ++trial) {
    // Every fourth trial: a few values against many, so the walk meets
    // long runs of one side between two values of the other.
    // Every tenth: thousands of values, so the walk is cut into parts
    // walked in lockstep (see ecdf_distances).
    const bool lopsided = trial % 4 == 3;
    const bool large = trial % 10 == 0;
    const size_t m = large ? 1 + rng() % 3000 : lopsided ? 1 + rng() % 4 : 1 + rng() % 40;
    const size_t n = large ? 1 + rng() % 3000 : lopsided ? 1 + rng() % 400 : 1 + rng() % 40;
    const int levels = 1 + static_cast<int>(rng() % (large ? 2000 : 12));  // few: many ties
    std::vector<double> a(m), b(n);
    for (auto& x : a) x = static_cast<double>(rng() % levels) * 0.5;
    for (auto& x : b) x = static_cast<double>(rng() % levels) * 0.5 + (trial % 3 == 0 ? 0.25 : 0.0);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::vector<double> all(a);
    all.insert(all.end(), b.begin(), b.end());
    std::sort(all.begin(), all.end());
    auto cdf = [](const std::vector<double>& s, double v) {
      return static_cast<double>(std::upper_bound(s.begin(), s.end(), v) - s.begin()) /
             static_cast<double>(s.size());
    };
    double d = 0, w = 0;
    for (size_t t = 0; t < all.size(); ++t) {
      const double diff = std::fabs(cdf(a, all[t]) - cdf(b, all[t]));
      d = std::max(d, diff);
      if (t + 1 < all.size()) w += diff * (all[t + 1] - all[t]);
    }
    const auto r = stats::ecdf_distances(a, b);
    INFO("trial " << trial << " m=" << m << " n=" << n);
    REQUIRE(r.ks == d);
    REQUIRE(std::fabs(r.wasserstein - w) <= 1e-12 * std::max(1.0, w));
    const auto swapped = stats::ecdf_distances(b, a);
    REQUIRE(swapped.ks == d);
    REQUIRE(std::fabs(swapped.wasserstein - w) <= 1e-12 * std::max(1.0, w));
  }
}
