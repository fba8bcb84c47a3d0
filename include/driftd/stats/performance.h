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

// The one home of the metrics' conventions, for the batch check (rows) and
// the daemon's windows (sums kept per pane, merged):
// one row's log-loss term, -log(q) for a positive and -log(1 - q) for a
// negative, the score q clipped to [eps, 1-eps] (eps = 2^-52, sklearn's
// eps='auto');
double log_loss_term(double score, bool actual);
// classification metrics from the confusion counts, the summed log loss
// and the AUC (computed by the caller: exact ranks in the batch check, the
// prediction grid's slots in a window); null for every metric when n == 0;
Performance classification_from_counts(uint64_t n, double tp, double fp, double tn, double fn,
                                       double log_loss_sum, std::optional<double> roc_auc);
// regression metrics from the sums of |error| and error^2 and the labels'
// total sum of squares about their mean (ss_tot).
Performance regression_from_sums(uint64_t n, double abs_error_sum, double sq_error_sum,
                                 double ss_tot);

// Pairs the rows where both are finite; NaN marks missing.
Performance performance_metrics(std::span<const double> predictions, std::span<const double> labels,
                                Task task, double threshold);

}  // namespace driftd
