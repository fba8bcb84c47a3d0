// Model performance from prediction and label columns, with sklearn's
// definitions (sklearn.metrics, version in Debian 12: 1.2).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace driftd {

enum class Task { kClassification, kRegression };
const char* to_string(Task task);

struct Metric {
  std::string name;
  std::optional<double> value;  // nullopt: undefined on this data
};

struct Performance {
  Task task = Task::kClassification;
  uint64_t rows = 0;  // rows where both prediction and label are present
  std::vector<Metric> metrics;
  std::optional<double> get(std::string_view name) const;
};

// Two distinct label values, 0 and 1, mean binary classification.
Task infer_task(std::span<const double> labels);

// Binary classification: prediction is a score (or a 0/1 class), the class
// is score >= threshold. accuracy, precision, recall, f1 (0 where sklearn's
// zero_division gives 0), roc_auc (Mann-Whitney with ties counted half,
// equal to sklearn's trapezoidal ROC area; null with one class), log_loss
// (scores clipped to [eps, 1-eps], eps = 2^-52, as sklearn's eps='auto').
Performance classification_metrics(std::span<const double> scores, std::span<const double> labels,
                                   double threshold);

// Regression: mae, rmse, r2 (sklearn's force_finite: 1 for a perfect fit of
// constant labels, 0 for an imperfect one).
Performance regression_metrics(std::span<const double> predictions, std::span<const double> labels);

// Pairs the rows where both are finite; NaN marks missing.
Performance performance_metrics(std::span<const double> predictions, std::span<const double> labels,
                                Task task, double threshold);

}  // namespace driftd
