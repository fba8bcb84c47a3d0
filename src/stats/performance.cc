#include "driftd/stats/performance.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "driftd/kernels/kernels.h"

namespace driftd {

const char* to_string(Task task) {
  return task == Task::kClassification ? "classification" : "regression";
}

std::optional<double> Performance::get(std::string_view name) const {
  for (const auto& m : metrics) {
    if (m.name == name) return m.value;
  }
  return std::nullopt;
}

Task infer_task(std::span<const double> labels) {
  bool zero = false, one = false;
  for (const double y : labels) {
    if (std::isnan(y)) continue;
    if (y == 0) {
      zero = true;
    } else if (y == 1) {
      one = true;
    } else {
      return Task::kRegression;
    }
  }
  return zero && one ? Task::kClassification : Task::kRegression;
}

namespace {

// Area under the ROC curve as the Mann-Whitney U statistic over P*N
// positive/negative pairs, a tie in score counting one half.
std::optional<double> roc_auc(std::span<const double> s, std::span<const double> y) {
  const size_t n = s.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] < s[b]; });
  double positives = 0, rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    double pos_in_group = 0;
    while (j < n && s[order[j]] == s[order[i]]) pos_in_group += y[order[j++]] == 1 ? 1 : 0;
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    rank_sum += pos_in_group * avg_rank;
    positives += pos_in_group;
    i = j;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return std::nullopt;
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

}  // namespace

double log_loss_term(double score, bool actual) {
  constexpr double eps = 0x1p-52;  // numpy.finfo(float64).eps
  const double q = std::clamp(score, eps, 1 - eps);
  return actual ? -std::log(q) : -std::log(1 - q);
}

Performance classification_from_counts(uint64_t rows, double tp, double fp, double tn, double fn,
                                       double log_loss_sum, std::optional<double> roc_auc) {
  Performance p;
  p.task = Task::kClassification;
  p.rows = rows;
  const double n = static_cast<double>(rows);
  // sklearn's zero_division default: an empty denominator gives 0.
  auto ratio = [](double a, double b) -> std::optional<double> { return b > 0 ? a / b : 0.0; };
  std::optional<double> none;
  p.metrics.push_back({"accuracy", n > 0 ? std::optional<double>((tp + tn) / n) : none});
  p.metrics.push_back({"precision", n > 0 ? ratio(tp, tp + fp) : none});
  p.metrics.push_back({"recall", n > 0 ? ratio(tp, tp + fn) : none});
  p.metrics.push_back({"f1", n > 0 ? ratio(2 * tp, 2 * tp + fp + fn) : none});
  p.metrics.push_back({"roc_auc", n > 0 ? roc_auc : none});
  p.metrics.push_back({"log_loss", n > 0 ? std::optional<double>(log_loss_sum / n) : none});
  return p;
}

Performance regression_from_sums(uint64_t rows, double abs_error_sum, double sq_error_sum,
                                 double ss_tot) {
  Performance p;
  p.task = Task::kRegression;
  p.rows = rows;
  if (rows == 0) {
    for (const char* m : {"mae", "rmse", "r2"}) p.metrics.push_back({m, std::nullopt});
    return p;
  }
  const double n = static_cast<double>(rows);
  p.metrics.push_back({"mae", abs_error_sum / n});
  p.metrics.push_back({"rmse", std::sqrt(sq_error_sum / n)});
  // sklearn's force_finite: constant labels give 1 for a perfect fit, else 0.
  const double r2 = ss_tot == 0 ? (sq_error_sum == 0 ? 1.0 : 0.0) : 1 - sq_error_sum / ss_tot;
  p.metrics.push_back({"r2", r2});
  return p;
}

Performance classification_metrics(std::span<const double> scores, std::span<const double> labels,
                                   double threshold) {
  double tp = 0, fp = 0, tn = 0, fn = 0, loss = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool predicted = scores[i] >= threshold;
    const bool actual = labels[i] == 1;
    tp += predicted && actual;
    fp += predicted && !actual;
    tn += !predicted && !actual;
    fn += !predicted && actual;
    loss += log_loss_term(scores[i], actual);
  }
  return classification_from_counts(scores.size(), tp, fp, tn, fn, loss,
                                    scores.empty() ? std::nullopt : roc_auc(scores, labels));
}

Performance regression_metrics(std::span<const double> pred, std::span<const double> y) {
  const size_t n = pred.size();
  if (n == 0) return regression_from_sums(0, 0, 0, 0);
  double abs_sum = 0, sq_sum = 0, y_sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = y[i] - pred[i];
    abs_sum += std::fabs(e);
    sq_sum += e * e;
    y_sum += y[i];
  }
  const double y_mean = y_sum / static_cast<double>(n);
  double ss_tot = 0;
  for (size_t i = 0; i < n; ++i) ss_tot += (y[i] - y_mean) * (y[i] - y_mean);
  return regression_from_sums(n, abs_sum, sq_sum, ss_tot);
}

Performance performance_metrics(std::span<const double> predictions, std::span<const double> labels,
                                Task task, double threshold) {
  std::vector<double> s, y;
  s.reserve(predictions.size());
  y.reserve(labels.size());
  for (size_t i = 0; i < predictions.size() && i < labels.size(); ++i) {
    if (std::isfinite(predictions[i]) && std::isfinite(labels[i])) {
      s.push_back(predictions[i]);
      y.push_back(labels[i]);
    }
  }
  return task == Task::kClassification ? classification_metrics(s, y, threshold)
                                       : regression_metrics(s, y);
}

}  // namespace driftd
