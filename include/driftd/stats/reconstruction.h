// Multivariate drift: how well a row of the numeric features is rebuilt
// from the baseline's principal components (NannyML's "data reconstruction
// drift"; the method: Jolliffe 2002, "Principal Component Analysis", 2nd
// ed., ch. 10.1, residuals off the principal subspace as a test of
// multivariate change). A change in how features move together (a
// correlation that flips, with every marginal unchanged) moves rows off the
// subspace the baseline's rows lie near, and the mean error grows, which
// no test of one column can see.
//
// The fit (at `driftd baseline build`): each numeric feature standardized
// by the baseline's mean and standard deviation, a missing or non-finite
// value imputed by the mean (a standardized 0, as NannyML does); the
// eigenvectors of the standardized rows' covariance (Eigen's
// SelfAdjointEigenSolver), as few as hold kReconstructionVarianceShare of
// the variance and at least one fewer than the columns. A row's error is
// the Euclidean norm of its standardized vector's part off their span.
//
// The test: the window's mean error, each row's error clamped at the
// baseline's 255/256 quantile of errors first (winsorized, as the location
// test is, stats/robust.h: a row error is a norm and has the tails of the
// data's), against the baseline's clamped mean, z = (mean_c - mean_b) /
// sqrt(var_b (1/n + 1/N)), two-sided. The baseline's errors are in-sample
// (its rows fitted the components), which makes its mean lower than a new
// sample's by about k d / N of itself: under 0.5% of a window's noise for
// the sizes driftd is used at (N >= 100 d is required).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace driftd::stats {

// NannyML's default share of variance the components keep.
inline constexpr double kReconstructionVarianceShare = 0.65;
// Columns a fit takes at most: a window's cost is d k multiply-adds per event.
inline constexpr size_t kReconstructionMaxColumns = 64;
inline constexpr size_t kReconstructionMinColumns = 2;

struct ReconstructionModel {
  std::vector<std::string> columns;   // numeric features, baseline order
  std::vector<double> means, scales;  // standardization, per column
  // k components of d weights each: component c's weight of column j is
  // basis[c * d + j]; orthonormal.
  std::vector<double> basis;
  size_t components = 0;
  // The other d - k eigenvectors, the same way: with the components, an
  // orthonormal basis. A row's squared error is ||z||^2 - ||V^T z||^2, or
  // ||W^T z||^2 with W these; errors() takes the cheaper (d (k + 1) or
  // d (d - k) multiply-adds), the same for every row of a model.
  std::vector<double> residual;
  double explained_variance = 0;  // share of the standardized variance they hold
  uint64_t rows = 0;              // baseline rows the errors are of
  double error_cap = 0;           // the 255/256 quantile of the baseline's row errors
  double error_mean = 0;          // of the clamped errors
  double error_variance = 0;      // of the clamped errors (population variance)

  size_t dimensions() const { return columns.size(); }
  // Column j's value standardized; a missing or non-finite one imputed (0).
  // Bounded, so that a row of extreme values still has a finite error (its
  // squares summed over 64 columns stay below DBL_MAX).
  static constexpr double kMaxStandardized = 1e150;
  std::vector<double> inverse_scales;  // 1 / scales, set by prepare()
  double standardized(size_t j, double x) const {
    if (!std::isfinite(x)) return 0.0;
    return standardized_finite(j, x);
  }
  double standardized_finite(size_t j, double x) const {
    return std::clamp((x - means[j]) * inverse_scales[j], -kMaxStandardized, kMaxStandardized);
  }
  // Sets what is derived from the stored fields (inverse_scales); the fit
  // and the reader call it.
  void prepare();
  size_t residual_components() const { return dimensions() - components; }
  // The errors of n rows whose standardized values are z[j * stride + i]
  // (column j, row i): out[i], unclamped.
  void errors(const double* z, size_t stride, size_t n, double* out) const;
};

// One column of a fit: its values, one per row (NaN: missing).
struct ReconstructionColumn {
  std::string_view name;
  std::span<const double> values;
};

// Fits on the baseline's numeric features (row-aligned, `rows` each).
// nullopt when there is nothing to fit: fewer than two columns that vary,
// more than kReconstructionMaxColumns, or fewer than 100 d rows.
std::optional<ReconstructionModel> fit_reconstruction(std::span<const ReconstructionColumn> columns,
                                                      uint64_t rows);

// A window's (or a checked file's) row errors, mergeable.
struct ReconstructionSums {
  uint64_t rows = 0;
  double sum = 0;          // of the errors
  double clamped_sum = 0;  // of the errors clamped at the model's cap

  void add(const ReconstructionModel& m, const double* errors, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      sum += errors[i];
      clamped_sum += std::fmin(errors[i], m.error_cap);
    }
    rows += n;
  }
  void merge(const ReconstructionSums& o) {
    rows += o.rows;
    sum += o.sum;
    clamped_sum += o.clamped_sum;
  }
};

// The test's p-value (nullopt: no rows, or the baseline's clamped errors
// do not vary), and its effect: the change of the clamped mean in the
// baseline's standard deviations of a clamped row error.
std::optional<double> reconstruction_p_value(const ReconstructionModel& m,
                                             const ReconstructionSums& s);
std::optional<double> reconstruction_change(const ReconstructionModel& m,
                                            const ReconstructionSums& s);

// What is wrong with a model read from a file (sizes, finite values,
// orthonormal components, error figures in range), or an empty string.
std::string reconstruction_flaw(const ReconstructionModel& m);

}  // namespace driftd::stats
