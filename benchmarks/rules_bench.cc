// The cost of judging alert rules at a window close: 10 models x 100
// features x 20 rules (half per feature, half per model), on windows whose
// statistics move so that alerts go pending, fire and resolve.
//
//   build/release/benchmarks/driftd_rules_bench [--windows 2000]
//
// Prints the time per window close of one model and of all ten, and the
// alert changes made (so the work is not optimized away). Rules are judged
// only when a window closes, never per event: this is their whole cost.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "alerts/rules/rule.h"

using driftd::alerts::ModelAlerts;
using driftd::alerts::Notification;
using driftd::alerts::Rule;
using driftd::alerts::RuleSpec;

namespace {

std::shared_ptr<const Rule> rule(const std::string& name, const std::string& condition,
                                 bool per_feature) {
  RuleSpec s;
  s.name = name;
  s.condition = condition;
  s.resolve = "";
  s.min_rows = 100;
  s.for_windows = 2;
  s.annotations = {{"summary", per_feature ? "{{model}} {{feature}}: {{value}} over {{threshold}}"
                                           : "{{model}}: {{value}} over {{threshold}}"}};
  auto r = Rule::compile(s);
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), r.error().message.c_str());
    std::exit(2);
  }
  return std::make_shared<const Rule>(std::move(*r));
}

std::vector<std::shared_ptr<const Rule>> twenty_rules() {
  std::vector<std::shared_ptr<const Rule>> out;
  const char* per_feature[] = {"psi > 0.2",
                               "ks_p_value < 0.01 and rows >= 500",
                               "jensen_shannon > 0.1",
                               "wasserstein > 0.3",
                               "missing_rate > baseline_missing_rate + 0.1",
                               "abs(mean_shift) > 0.5",
                               "drift",
                               "psi > 0.1 and ks_p_value < 0.05",
                               "type_error_rate > 0.01",
                               "hellinger > 0.2"};
  const char* per_model[] = {"drift_share >= 0.3",
                             "dataset_drift",
                             "any feature: psi > 0.5",
                             "count(feature: drift) >= 3",
                             "all feature: psi < 0.01",
                             "features_drifted > 10",
                             "schema.new_columns > 0 or schema.missing_columns > 0",
                             "performance.accuracy < baseline.accuracy - 0.05",
                             "count(feature: missing_rate > 0.2) >= 2",
                             "max(drift_share, 0.1) > 0.4"};
  for (int i = 0; i < 10; ++i) out.push_back(rule("f" + std::to_string(i), per_feature[i], true));
  for (int i = 0; i < 10; ++i) out.push_back(rule("m" + std::to_string(i), per_model[i], false));
  return out;
}

// Window `w` of a model: 100 features whose PSI moves with w.
driftd::WindowResult window(int model, int w) {
  driftd::WindowResult r;
  r.start = 1767225600000 + static_cast<int64_t>(w) * 300000;
  r.end = r.start + 300000;
  r.id =
      "m" + std::to_string(model) + "@1/t/" + std::to_string(r.start) + "-" + std::to_string(r.end);
  r.report.rows = 5000;
  for (int f = 0; f < 100; ++f) {
    driftd::FeatureResult fr;
    fr.name = "feature_" + std::to_string(f);
    const double psi = ((w / 4 + f + model) % 7) * 0.06;
    fr.stats = {{"psi", psi},
                {"ks_statistic", psi / 2},
                {"ks_p_value", 0.2 - psi / 3},
                {"jensen_shannon", psi / 3},
                {"hellinger", psi / 2},
                {"wasserstein", psi},
                {"mean_shift", psi - 0.1},
                {"std_ratio", 1 + psi},
                {"chi_square_p_value", 0.5}};
    fr.missing_rate = (f % 13 == 0) ? 0.25 : 0.01;
    fr.baseline_missing_rate = 0.01;
    fr.drift = psi >= 0.2;
    fr.drift_value = psi;
    fr.rule.threshold = 0.2;
    r.report.features_drifted += fr.drift;
    ++r.report.features_compared;
    r.report.features.push_back(std::move(fr));
  }
  r.report.drift_share = static_cast<double>(r.report.features_drifted) / 100;
  r.report.dataset_drift = r.report.drift_share >= 0.5;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int windows = 2000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--windows") == 0) windows = std::atoi(argv[i + 1]);
  }
  constexpr int kModels = 10;
  const auto rules = twenty_rules();
  std::vector<std::unique_ptr<ModelAlerts>> models;
  for (int m = 0; m < kModels; ++m) {
    models.push_back(std::make_unique<ModelAlerts>("m" + std::to_string(m), "1", true, rules));
  }
  // The windows are made beforehand: only the judging is timed.
  std::vector<std::vector<driftd::WindowResult>> made(kModels);
  for (int m = 0; m < kModels; ++m) {
    for (int w = 0; w < 64; ++w) made[m].push_back(window(m, w));
  }
  std::vector<Notification> notes;
  size_t changes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int w = 0; w < windows; ++w) {
    for (int m = 0; m < kModels; ++m) {
      notes.clear();
      models[m]->evaluate(made[m][static_cast<size_t>(w) % 64], notes);
      changes += notes.size();
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double per_close_us = secs / (static_cast<double>(windows) * kModels) * 1e6;
  std::printf("rules: %d models x 100 features x %zu rules (10 per feature, 10 per model)\n",
              kModels, rules.size());
  std::printf("window closes judged: %d per model, %zu alert changes\n", windows, changes);
  std::printf("one model's window close: %.1f us; all %d models' closes: %.1f us\n", per_close_us,
              kModels, per_close_us * kModels);
  return 0;
}
