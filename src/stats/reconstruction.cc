#include "driftd/stats/reconstruction.h"

#include <algorithm>

#include <Eigen/Dense>

#include "driftd/stats/calibrated_tests.h"

namespace driftd::stats {

void ReconstructionModel::prepare() {
  inverse_scales.resize(scales.size());
  for (size_t j = 0; j < scales.size(); ++j) inverse_scales[j] = 1 / scales[j];
}

void ReconstructionModel::errors(const double* z, size_t stride, size_t n, double* out) const {
  // Each loop runs over the rows of a chunk (which the compiler
  // vectorizes); 64 rows of 64 columns stay in L1.
  const size_t d = columns.size();
  const bool by_residual = d * residual_components() < d * (components + 1);
  const size_t vectors = by_residual ? residual_components() : components;
  const double* const weights = by_residual ? residual.data() : basis.data();
  constexpr size_t kChunk = 64;
  double coef[kChunk];
  for (size_t at = 0; at < n; at += kChunk) {
    const size_t count = std::min(kChunk, n - at);
    double* const acc = out + at;
    for (size_t i = 0; i < count; ++i) acc[i] = 0;
    if (!by_residual) {
      for (size_t j = 0; j < d; ++j) {
        const double* zj = z + j * stride + at;
        for (size_t i = 0; i < count; ++i) acc[i] += zj[i] * zj[i];
      }
    }
    const double sign = by_residual ? 1.0 : -1.0;
    for (size_t c = 0; c < vectors; ++c) {
      const double* w = weights + c * d;
      const double* z0 = z + at;
      for (size_t i = 0; i < count; ++i) coef[i] = w[0] * z0[i];
      for (size_t j = 1; j < d; ++j) {
        const double wj = w[j];
        const double* zj = z + j * stride + at;
        for (size_t i = 0; i < count; ++i) coef[i] += wj * zj[i];
      }
      for (size_t i = 0; i < count; ++i) acc[i] += sign * (coef[i] * coef[i]);
    }
    for (size_t i = 0; i < count; ++i) acc[i] = acc[i] > 0 ? std::sqrt(acc[i]) : 0.0;
  }
}

namespace {

// Mean and standard deviation of a column's finite values (two passes).
bool column_scale(std::span<const double> v, double* mean, double* sd) {
  double sum = 0;
  uint64_t n = 0;
  for (const double x : v) {
    if (std::isfinite(x)) sum += x, ++n;
  }
  if (n < 2) return false;
  *mean = sum / static_cast<double>(n);
  double ss = 0;
  for (const double x : v) {
    if (std::isfinite(x)) ss += (x - *mean) * (x - *mean);
  }
  *sd = std::sqrt(ss / static_cast<double>(n - 1));
  return std::isfinite(*sd) && *sd > 0 && std::isfinite(*mean);
}

// Standardized rows [at, at + rows) of the model's columns into z (column
// j at z[j * stride]).
void standardize_rows(const ReconstructionModel& m, std::span<const std::span<const double>> values,
                      size_t at, size_t rows, size_t stride, double* z) {
  for (size_t j = 0; j < m.dimensions(); ++j) {
    const double* v = values[j].data() + at;
    double* zj = z + j * stride;
    for (size_t i = 0; i < rows; ++i) zj[i] = m.standardized(j, v[i]);
  }
}

}  // namespace

std::optional<ReconstructionModel> fit_reconstruction(std::span<const ReconstructionColumn> columns,
                                                      uint64_t rows) {
  ReconstructionModel m;
  std::vector<std::span<const double>> values;
  for (const ReconstructionColumn& c : columns) {
    double mean = 0, sd = 0;
    if (c.values.size() != rows || !column_scale(c.values, &mean, &sd)) continue;
    m.columns.emplace_back(c.name);
    m.means.push_back(mean);
    m.scales.push_back(sd);
    values.push_back(c.values);
  }
  m.prepare();
  const size_t d = m.dimensions();
  if (d < kReconstructionMinColumns || d > kReconstructionMaxColumns || rows < 100 * d) {
    return std::nullopt;
  }
  constexpr size_t kChunk = 1024;
  std::vector<double> z(d * kChunk);
  Eigen::MatrixXd cov =
      Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  for (size_t at = 0; at < rows; at += kChunk) {
    const size_t n = std::min<size_t>(kChunk, rows - at);
    standardize_rows(m, values, at, n, kChunk, z.data());
    // Column j of the map is the chunk's column j (rows x d, column-major).
    const Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> chunk(
        z.data(), static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d),
        Eigen::OuterStride<>(kChunk));
    cov.noalias() += chunk.transpose() * chunk;
  }
  cov /= static_cast<double>(rows);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  if (eig.info() != Eigen::Success) return std::nullopt;
  // Eigenvalues ascending: the components are taken from the last.
  const Eigen::VectorXd& lambda = eig.eigenvalues();
  const double total = std::max(lambda.sum(), 0.0);
  if (!(total > 0)) return std::nullopt;
  double kept = 0;
  size_t k = 0;
  while (k < d - 1) {
    kept += std::max(lambda(static_cast<Eigen::Index>(d - 1 - k)), 0.0);
    ++k;
    if (kept >= kReconstructionVarianceShare * total) break;
  }
  m.components = k;
  m.explained_variance = std::min(1.0, kept / total);
  m.basis.resize(k * d);
  m.residual.resize((d - k) * d);
  for (size_t c = 0; c < d; ++c) {
    // Largest eigenvalue first: the components, then the residual vectors.
    const auto v = eig.eigenvectors().col(static_cast<Eigen::Index>(d - 1 - c));
    // A sign for each vector, so that the file does not depend on the
    // solver's: its largest weight positive.
    Eigen::Index largest = 0;
    v.cwiseAbs().maxCoeff(&largest);
    const double sign = v(largest) < 0 ? -1.0 : 1.0;
    double* out = c < k ? &m.basis[c * d] : &m.residual[(c - k) * d];
    for (size_t j = 0; j < d; ++j) out[j] = sign * v(static_cast<Eigen::Index>(j));
  }
  m.prepare();
  // The baseline's own row errors: their cap, then the clamped mean and
  // variance.
  std::vector<double> err(rows);
  for (size_t at = 0; at < rows; at += kChunk) {
    const size_t n = std::min<size_t>(kChunk, rows - at);
    standardize_rows(m, values, at, n, kChunk, z.data());
    m.errors(z.data(), kChunk, n, err.data() + at);
  }
  std::vector<double> sorted = err;
  const size_t rank = 255 * (rows - 1) / 256;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(rank),
                   sorted.end());
  m.error_cap = sorted[rank];
  double sum = 0;
  for (const double e : err) sum += std::min(e, m.error_cap);
  m.rows = rows;
  m.error_mean = sum / static_cast<double>(rows);
  double ss = 0;
  for (const double e : err) {
    const double c = std::min(e, m.error_cap) - m.error_mean;
    ss += c * c;
  }
  m.error_variance = ss / static_cast<double>(rows);
  return m;
}

std::optional<double> reconstruction_p_value(const ReconstructionModel& m,
                                             const ReconstructionSums& s) {
  return two_sample_mean_p(s.clamped_sum, s.rows, m.error_mean, m.error_variance, m.rows);
}

std::optional<double> reconstruction_change(const ReconstructionModel& m,
                                            const ReconstructionSums& s) {
  if (s.rows == 0 || !(m.error_variance > 0)) return std::nullopt;
  return (s.clamped_sum / static_cast<double>(s.rows) - m.error_mean) / std::sqrt(m.error_variance);
}

std::string reconstruction_flaw(const ReconstructionModel& m) {
  const size_t d = m.dimensions();
  if (d < kReconstructionMinColumns || d > kReconstructionMaxColumns) {
    return "columns: expected 2 to " + std::to_string(kReconstructionMaxColumns) + " names";
  }
  if (m.means.size() != d || m.scales.size() != d) return "means and scales: expected one a column";
  for (size_t j = 0; j < d; ++j) {
    if (!std::isfinite(m.means[j]) || !std::isfinite(m.scales[j]) || !(m.scales[j] > 0)) {
      return "means and scales: expected finite numbers, scales above 0";
    }
  }
  if (m.components < 1 || m.components >= d || m.basis.size() != m.components * d) {
    return "components: expected 1 to d - 1 vectors of d weights";
  }
  if (m.residual.size() != (d - m.components) * d) {
    return "residual_components: expected d - k vectors of d weights";
  }
  // The components and the residual vectors together: an orthonormal basis.
  std::vector<const double*> vectors;
  for (size_t c = 0; c < m.components; ++c) vectors.push_back(&m.basis[c * d]);
  for (size_t c = 0; c + m.components < d; ++c) vectors.push_back(&m.residual[c * d]);
  for (const double* v : vectors) {
    for (size_t j = 0; j < d; ++j) {
      if (!std::isfinite(v[j])) return "components: expected finite weights";
    }
  }
  for (size_t a = 0; a < d; ++a) {
    for (size_t b = a; b < d; ++b) {
      double dot = 0;
      for (size_t j = 0; j < d; ++j) dot += vectors[a][j] * vectors[b][j];
      if (std::fabs(dot - (a == b ? 1.0 : 0.0)) > 1e-6) return "components: not orthonormal";
    }
  }
  if (!(m.explained_variance >= 0 && m.explained_variance <= 1)) {
    return "explained_variance: expected a share in [0, 1]";
  }
  if (m.rows < 2) return "rows: expected at least 2";
  if (!(std::isfinite(m.error_cap) && m.error_cap >= 0 && m.error_mean >= 0 &&
        m.error_mean <= m.error_cap && m.error_variance >= 0 &&
        m.error_variance <= m.error_cap * m.error_cap)) {
    return "error_cap, error_mean, error_variance: out of range";
  }
  return {};
}

}  // namespace driftd::stats
