// Distribution of the one-sample two-sided Kolmogorov-Smirnov statistic D_n.
//
// Method choice follows Simard & L'Ecuyer (2011), J. Stat. Software 39(11),
// as scipy.stats.kstwo does, so that driftd's p-values match scipy's:
//   n*x <= 1 or >= n-1: Ruben & Gambino (1982) closed forms;
//   x >= 0.5: 2 * Smirnov one-sided (exact there: D+ and D- cannot both
//            exceed 1/2);
//   n <= 140: Durbin matrix for n*x^2 <= 4 (scipy uses Pomeranz's recursion
//            above 0.754693; both are exact, the matrix stays small here),
//            2 * Smirnov (Miller 1956) beyond;
//   n > 140: survival 0 for n*x^2 >= 370, 2 * Smirnov for >= 2.2, otherwise
//            1 - CDF with the CDF from the Durbin matrix when
//            n <= 100000 and n*x^1.5 <= 1.4, else from Pelz & Good (1976).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

#include <Eigen/Dense>

#include "driftd/kernels/kernels.h"
#include "driftd/stats/kolmogorov.h"
#include "driftd/stats/log_gamma.h"

namespace driftd::stats {
namespace {

constexpr double kPi = std::numbers::pi;

double log_factorial(double n) {
  return log_gamma(n + 1.0);
}

// log(n! / n^n)
double log_nfactorial_div_n_pow_n(double n) {
  return log_factorial(n) - n * std::log(n);
}

// Pelz-Good approximation of P(D_n <= x): Li-Chien/Korolyuk expansion
// K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n^1.5 with z = x sqrt(n), each
// term written as Jacobi-theta sums that converge fast for small z.
double pelz_good_cdf(double n, double x) {
  const double z = std::sqrt(n) * x;
  const double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2, z8 = z4 * z4;
  const double qlog = -kPi * kPi / 8 / z2;
  if (qlog < -708.0) return 0.0;  // z below ~0.0417: the CDF underflows
  const double pi2 = kPi * kPi, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
  const double sqrt2pi = std::sqrt(2 * kPi);

  // Terms over odd m = 2k-1 of q^(m^2) with q = exp(-pi^2 / (8 z^2)).
  const double k1a = -z2, k1b = pi2 / 4;
  const double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4,
               k2c = pi4 * (1 - 2 * z2) / 16;
  const double k3a = -30 * z6 - 90 * z8, k3b = pi2 * (135 * z4 - 96 * z6) / 4,
               k3c = pi4 * (-60 * z2 + 212 * z4) / 16, k3d = pi6 * (5 - 30 * z2) / 64;
  const int maxk = static_cast<int>(std::ceil(16 * z / kPi));
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int k = 1; k <= maxk; ++k) {
    const double m = 2.0 * k - 1, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    const double w = std::exp(qlog * m2);
    s0 += w;
    s1 += (k1a + k1b * m2) * w;
    s2 += (k2a + k2b * m2 + k2c * m4) * w;
    s3 += (k3a + k3b * m2 + k3c * m4 + k3d * m6) * w;
  }
  double k0 = s0 * sqrt2pi / z;
  double k1 = s1 * sqrt2pi / (6 * z4);
  double k2 = s2 * sqrt2pi / (72 * z3 * z4);
  double k3 = s3 * sqrt2pi / (6480 * z4 * z6);
  // Terms over all integers k of q'^(k^2) with q' = exp(-pi^2 / (2 z^2)).
  double e2 = 0, e3 = 0;
  for (int k = 1; k <= maxk; ++k) {
    const double kk = static_cast<double>(k) * k;
    const double w = std::exp(-pi2 / 2 / z2 * kk);
    e2 += kk * w;
    e3 += (3 * z2 - pi2 * kk) * kk * w;
  }
  k2 += e2 * pi2 * sqrt2pi / (-36 * z3);
  k3 += e3 * pi2 * sqrt2pi / (216 * z6);
  const double sn = std::sqrt(n);
  return k0 + k1 / sn + k2 / n + k3 / (n * sn);
}

}  // namespace

// Durbin (1973) matrix form as computed by Marsaglia, Tsang & Wang (2003),
// J. Stat. Software 8(18): with n*x = k - h, 0 <= h < 1, and H the
// (2k-1)x(2k-1) matrix below, P(D_n < x) = n!/n^n * (H^n)[k-1][k-1].
// Powers are scaled by 2^-256 whenever they grow, with the exponent kept.
double kolmogorov_cdf_durbin(uint64_t n_int, double x) {
  const double n = static_cast<double>(n_int);
  if (x >= 1.0) return 1.0;
  const double nd = n * x;
  if (nd <= 0.5) return 0.0;
  const int k = static_cast<int>(std::ceil(nd));
  const double h = k - nd;
  const int m = 2 * k - 1;
  Eigen::MatrixXd H = Eigen::MatrixXd::Zero(m, m);
  // H[i][j] = 1/(i-j+1)! on and below the first superdiagonal.
  std::vector<double> inv_fact(static_cast<size_t>(m) + 1);
  inv_fact[0] = 1;
  for (int j = 1; j <= m; ++j) inv_fact[j] = inv_fact[j - 1] / j;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < m; ++j) {
      if (i - j + 1 >= 0) H(i, j) = inv_fact[i - j + 1];
    }
  }
  for (int i = 0; i < m; ++i) {
    H(i, 0) = (1 - std::pow(h, i + 1)) * inv_fact[i + 1];
    H(m - 1, i) = (1 - std::pow(h, m - i)) * inv_fact[m - i];
  }
  H(m - 1, 0) = (1 - 2 * std::pow(h, m) + std::pow(std::max(0.0, 2 * h - 1), m)) * inv_fact[m];

  constexpr double kScale = 0x1p256;
  Eigen::MatrixXd power = Eigen::MatrixXd::Identity(m, m);
  int power_exp = 0, h_exp = 0;
  for (uint64_t e = n_int; e > 0; e >>= 1) {
    if (e & 1) {
      power = power * H;
      power_exp += h_exp;
    }
    if (e > 1) {
      H = H * H;
      h_exp *= 2;
      if (std::fabs(H(k - 1, k - 1)) > kScale) {
        H /= kScale;
        h_exp += 256;
      }
    }
  }
  // Multiply by n!/n^n, keeping the value in range.
  double p = power(k - 1, k - 1);
  for (uint64_t i = 1; i <= n_int; ++i) {
    p = static_cast<double>(i) * p / n;
    if (std::fabs(p) < 0x1p-256) {
      p *= kScale;
      power_exp -= 256;
    }
  }
  return std::clamp(std::ldexp(p, power_exp), 0.0, 1.0);
}

namespace {

constexpr double kNegligible = -41.5;  // ln(1e-18): a term this far below the peak

// The Birnbaum-Tingey terms rise to one peak in j and fall: the peak is the
// first j in [lo, hi] whose next term is no larger, found by binary search
// on the sign of the step.
template <class LogTerm>
int64_t peak_of(const LogTerm& log_term, int64_t lo, int64_t hi) {
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (log_term(mid + 1) > log_term(mid)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace

// Birnbaum & Tingey (1951): P(D_n^+ >= x) =
//   x * sum_{j=0}^{floor(n(1-x))} C(n,j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1).
// All terms are positive and, as functions of j, rise to one peak and fall;
// for large n only the O(sqrt(n)) terms around the peak matter, so the sum
// starts there and walks outward until terms drop below 1e-18 of the peak.
double smirnov_sf_terms(uint64_t n_int, double x) {
  if (!(x > 0)) return 1.0;
  if (x >= 1) return 0.0;
  const double n = static_cast<double>(n_int);
  const auto jmax = static_cast<int64_t>(std::floor(n * (1 - x)));
  // One term's log, as the kernel's scalar reference computes it.
  auto log_term = [&](int64_t j) {
    return kernels::scalar::smirnov_terms(n, x, j, 1, 0.0).max_rel;
  };
  int64_t peak = 0;
  if (jmax <= 64) {
    double best = -HUGE_VAL;
    for (int64_t j = 0; j <= jmax; ++j) {
      const double t = log_term(j);
      if (t > best) best = t, peak = j;
    }
  } else {
    // About 2 log2(n) terms instead of a scan (the daemon evaluates this
    // for every feature of every window).
    peak = peak_of(log_term, 0, jmax);
  }
  const double log_peak = log_term(peak);
  if (!std::isfinite(log_peak)) return 0.0;
  double sum = 1.0;  // the peak term, relative to itself
  // Tens of thousands of terms can matter (n = 50,000: a window against a
  // 100,000-value sample), so they are summed by a SIMD kernel in runs of
  // 256 walking outward from the peak, until a whole run is below 1e-18 of
  // the peak (terms are unimodal in j, so every later run is too). A run
  // starts with three lgammas: at 64 terms a run they cost about as much as
  // the terms.
  constexpr int64_t kRun = 256;
  for (int64_t end = peak; end > 0;) {  // j in [begin, end), leftward
    const int64_t begin = std::max<int64_t>(0, end - kRun);
    const kernels::TermsSum t = kernels::smirnov_terms(n, x, begin, end - begin, log_peak);
    sum += t.sum;
    if (t.max_rel < kNegligible) break;
    end = begin;
  }
  for (int64_t begin = peak + 1; begin <= jmax;) {  // rightward
    const int64_t count = std::min<int64_t>(kRun, jmax + 1 - begin);
    const kernels::TermsSum t = kernels::smirnov_terms(n, x, begin, count, log_peak);
    sum += t.sum;
    if (t.max_rel < kNegligible) break;
    begin += count;
  }
  return std::clamp(std::exp(log_peak) * sum, 0.0, 1.0);
}

namespace {

// log k! - (k log k - k + log(2 pi k) / 2), Stirling's series remainder
// (Loader 2000, "Fast and accurate computation of binomial probabilities").
// Past k = 15 four terms of the series are exact to double precision.
double stirling_error(double k) {
  if (k <= 15) return log_gamma(k + 1) - (k * std::log(k) - k + 0.5 * std::log(2 * kPi * k));
  const double r = 1 / (k * k);
  return (1.0 / 12 - r * (1.0 / 360 - r * (1.0 / 1260 - r / 1680))) / k;
}

// log of the Birnbaum-Tingey term at an integer j in [1, n(1 - x)):
//   T_j = C(n, j) x (x + j/n)^(j-1) (1 - x - j/n)^(n-j).
// With m = n - j, the factorials by Stirling's formula and the powers
// rewritten, log T_j = j log1p(nx/j) + m log1p(-nx/m) + log(nx / (j + nx))
//   + log(n / (2 pi j m)) / 2 + e(n) - e(j) - e(m),
// e the Stirling remainder. The two log1p terms are of size nx and cancel
// to a few tens, so the term's log is good to about 1e-13 absolute, where
// lgamma(n+1) - lgamma(j+1) - lgamma(m+1) loses digits to its size (1e-10
// at n = 50,000). nx is hi + lo exactly. -inf where 1 - x - j/n <= 0.
double smirnov_log_term(double n, double nx_hi, double nx_lo, double j) {
  const double m = n - j;
  if (!((m - nx_hi) - nx_lo > 0)) return -HUGE_VAL;
  const double nx = nx_hi + nx_lo;
  return j * std::log1p(nx / j) + m * std::log1p(-nx / m) + std::log(nx / ((j + nx_hi) + nx_lo)) +
         0.5 * std::log(n / (2 * kPi * j * m)) + stirling_error(n) - stirling_error(j) -
         stirling_error(m);
}

}  // namespace

std::optional<double> smirnov_sf_smooth(uint64_t n_int, double x) {
  if (!(x > 0) || x >= 1) return std::nullopt;
  const double n = static_cast<double>(n_int);
  const auto jmax = static_cast<int64_t>(std::floor(n * (1 - x)));
  // Below a few thousand terms the sum term by term is cheap anyway.
  if (jmax < 2000) return std::nullopt;
  const double nx_hi = n * x, nx_lo = std::fma(n, x, -nx_hi);
  auto log_term = [&](int64_t j) {
    return smirnov_log_term(n, nx_hi, nx_lo, static_cast<double>(j));
  };
  const int64_t peak = peak_of(log_term, 1, jmax);
  const double log_peak = log_term(peak);
  if (!std::isfinite(log_peak)) return std::nullopt;
  // Both ends must be negligible (below 1e-18 of the peak), at j = 1 (and
  // so at j = 0, the terms rising from there) and at jmax: the rule needs
  // a function that has vanished where the sum is cut.
  const double negligible = log_peak + kNegligible;
  if (log_term(1) >= negligible || log_term(jmax) >= negligible) return std::nullopt;
  // The extent of the terms that matter: the last j below the peak and the
  // first above it where they are negligible.
  // log_term(from) < negligible <= log_term(to)
  auto find_edge = [&](int64_t from, int64_t to) {
    while (std::llabs(to - from) > 1) {
      const int64_t mid = from + (to - from) / 2;
      (log_term(mid) < negligible ? from : to) = mid;
    }
    return from;
  };
  const int64_t left = find_edge(1, peak), right = find_edge(jmax, peak);
  // About 256 points across the extent, on a grid through the peak; the
  // grid of every other point gives a second sum to check the first.
  const int64_t step = std::max<int64_t>(1, (right - left) / 256);
  double sum = 0, sum_even = 0;
  for (int64_t k = -((peak - left) / step + 1); peak + k * step <= right + step; ++k) {
    const int64_t j = peak + k * step;
    if (j < 1 || j > jmax) continue;
    const double t = std::exp(log_term(j) - log_peak);
    sum += t;
    if (k % 2 == 0) sum_even += t;
  }
  const double fine = static_cast<double>(step) * sum;
  const double coarse = 2 * static_cast<double>(step) * sum_even;
  if (step > 1 && !(std::fabs(fine - coarse) <= 1e-12 * fine)) return std::nullopt;
  return std::clamp(std::exp(log_peak) * fine, 0.0, 1.0);
}

double smirnov_sf(uint64_t n, double x) {
  if (const auto p = smirnov_sf_smooth(n, x)) return *p;
  return smirnov_sf_terms(n, x);
}

double kolmogorov_sf(uint64_t n_int, double x) {
  if (n_int == 0 || std::isnan(x)) return std::nan("");
  const double n = static_cast<double>(n_int);
  if (x >= 1.0) return 0.0;
  if (x <= 0.0) return 1.0;
  const double t = n * x;
  if (t <= 1.0) {
    if (t <= 0.5) return 1.0;
    // Ruben-Gambino: P(D_n <= x) = n!/n^n (2t - 1)^n for 1/2n <= x <= 1/n.
    const double cdf = std::exp(log_nfactorial_div_n_pow_n(n) + n * std::log(2 * t - 1));
    return std::clamp(1.0 - cdf, 0.0, 1.0);
  }
  if (t >= n - 1) return std::clamp(2 * std::pow(1.0 - x, n), 0.0, 1.0);
  if (x >= 0.5) return std::clamp(2 * smirnov_sf(n_int, x), 0.0, 1.0);
  const double nx2 = t * x;
  if (n_int <= 140) {
    if (nx2 <= 4) return std::clamp(1.0 - kolmogorov_cdf_durbin(n_int, x), 0.0, 1.0);
    return std::clamp(2 * smirnov_sf(n_int, x), 0.0, 1.0);
  }
  if (nx2 >= 370.0) return 0.0;
  if (nx2 >= 2.2) return std::clamp(2 * smirnov_sf(n_int, x), 0.0, 1.0);
  double cdf;
  if (nx2 >= 18.0) {
    cdf = 1.0;
  } else if (n_int <= 100000 && n * std::pow(x, 1.5) <= 1.4) {
    cdf = kolmogorov_cdf_durbin(n_int, x);
  } else {
    cdf = pelz_good_cdf(n, x);
  }
  return std::clamp(1.0 - cdf, 0.0, 1.0);
}

}  // namespace driftd::stats
