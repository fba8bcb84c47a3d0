// driftd command line: `baseline build`, `check`, `run`, `config check`,
// `rules check|test|replay`, `version`.
// Exit status: 0 success, 1 `check --fail-on-drift` found dataset drift or
// `rules test` a failed test,
// 2 bad usage or bad input (with a message naming file, line and column).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <sstream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "alerts/rules/rule_tests.h"
#include "driftd/baseline/baseline.h"
#include "driftd/check/check.h"
#include "driftd/check/report.h"
#include "driftd/check/report_html.h"
#include "driftd/daemon/daemon.h"
#include "driftd/daemon/daemon_config.h"
#include "driftd/decode/event_decoder.h"
#include "driftd/kernels/kernels.h"
#include "driftd/kernels/simd_target.h"
#include "src/common/time_format.h"

namespace {

constexpr int kExitDrift = 1;
constexpr int kExitError = 2;

std::set<std::string> split_list(const std::string& s) {
  std::set<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

// Progress on stderr for long reads, only when stderr is a terminal.
std::function<void(uint64_t, uint64_t)> progress_for(const std::string& what) {
  if (!::isatty(STDERR_FILENO)) return {};
  auto start =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [what, start](uint64_t done, uint64_t total) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
    std::fprintf(stderr, "\r%s: %3.0f%% (%.0f MB/s)   ", what.c_str(),
                 100.0 * static_cast<double>(done) / static_cast<double>(total),
                 secs > 0 ? static_cast<double>(done) / 1e6 / secs : 0.0);
  };
}

void end_progress() {
  if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
}

// Logs how long each phase took at info level (-v).
class PhaseTimer {
 public:
  void done(const char* phase) {
    const auto now = std::chrono::steady_clock::now();
    spdlog::info("{}: {:.3f} s", phase, std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

int fail(const std::string& message) {
  end_progress();
  std::fprintf(stderr, "driftd: error: %s\n", message.c_str());
  return kExitError;
}

// What `baseline build` wrote, on stdout: a newcomer sees what the baseline
// holds (the kinds the data gave each column, the roles) without opening it.
void print_baseline_summary(const driftd::Baseline& b, const std::string& path) {
  std::string numeric, categorical, roles;
  size_t n_numeric = 0, n_categorical = 0;
  auto add = [](std::string& list, size_t& n, const std::string& name) {
    if (++n <= 8) list += (n > 1 ? ", " : "") + name;
  };
  for (const auto& c : b.columns) {
    if (c.role == driftd::ColumnRole::kFeature) {
      if (c.kind == driftd::ColumnKind::kNumeric) {
        add(numeric, n_numeric, c.name);
      } else {
        add(categorical, n_categorical, c.name);
      }
    } else {
      roles += std::string("  ") + driftd::to_string(c.role) + ": " + c.name + " (" +
               driftd::to_string(c.kind) + ")\n";
    }
  }
  auto more = [](size_t n) { return n > 8 ? ", ... " + std::to_string(n - 8) + " more" : ""; };
  std::printf("%s: baseline of %s%s%s from %s, %llu rows\n", path.c_str(), b.model_name.c_str(),
              b.model_version.empty() ? "" : "@", b.model_version.c_str(), b.input.file.c_str(),
              static_cast<unsigned long long>(b.input.rows));
  std::printf("  %zu numeric features%s%s%s\n", n_numeric, n_numeric ? ": " : "", numeric.c_str(),
              more(n_numeric).c_str());
  std::printf("  %zu categorical features%s%s%s\n", n_categorical, n_categorical ? ": " : "",
              categorical.c_str(), more(n_categorical).c_str());
  std::printf("%s", roles.c_str());
  if (b.performance) std::printf("  training performance recorded (the label and prediction)\n");
}

std::optional<driftd::Task> parse_task(const std::string& s) {
  if (s == "classification") return driftd::Task::kClassification;
  if (s == "regression") return driftd::Task::kRegression;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("driftd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("driftd: %l: %v");
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{"driftd: drift monitoring for production ML models"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log what driftd does (SIMD target, timings) on stderr");

  // ---- baseline build
  auto* baseline_cmd = app.add_subcommand("baseline", "Training baselines");
  baseline_cmd->require_subcommand(1);
  auto* build = baseline_cmd->add_subcommand("build", "Profile training data into a baseline file");
  std::string b_input, b_out, b_categorical, b_task;
  driftd::BaselineBuildOptions bopt;
  build->add_option("--input", b_input, "Training data: .csv or .jsonl")->required();
  build->add_option("--out", b_out, "Baseline file to write (atomically)")->required();
  build->add_option("--categorical", b_categorical, "Columns to treat as categorical: a,b,c");
  build->add_option("--bins", bopt.settings.bins, "Quantile bins per numeric column")
      ->check(CLI::Range(2, 10000))
      ->capture_default_str();
  build->add_option("--prediction", bopt.prediction_column, "Prediction (score) column");
  build->add_option("--label", bopt.label_column, "Label (ground truth) column");
  build->add_option("--id", bopt.id_column, "Row id column (not profiled)");
  build->add_option("--timestamp", bopt.timestamp_column, "Event time column (not profiled)");
  build->add_option("--model", bopt.model_name, "Model name stored in the baseline");
  build->add_option("--model-version", bopt.model_version, "Model version stored in the baseline");
  build
      ->add_option(
          "--sample-cap", bopt.settings.sample_cap,
          "Values kept per numeric column for exact KS/Wasserstein; beyond it a seeded reservoir")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100000000}))
      ->capture_default_str();
  build->add_option("--seed", bopt.settings.seed, "Reservoir sampling seed")->capture_default_str();
  build
      ->add_option("--max-categories", bopt.settings.max_categories,
                   "Categories kept with counts; the rest pooled into 'other'")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10000000}))
      ->capture_default_str();
  build->add_option("--max-errors", bopt.read.max_errors, "Malformed rows to skip before failing")
      ->capture_default_str();
  build->add_option("--threshold", bopt.threshold, "Classification threshold on the score")
      ->capture_default_str();
  build->add_option("--task", b_task, "classification or regression (default: inferred)")
      ->check(CLI::IsMember({"classification", "regression"}));

  // ---- check
  auto* check = app.add_subcommand("check", "Compare serving data with a baseline");
  std::string c_baseline, c_input, c_format = "table", c_rules, c_method, c_task, c_model,
                                   c_version;
  std::optional<double> c_method_threshold, c_false_alarm_rate;
  bool fail_on_drift = false;
  driftd::CheckOptions copt;
  check->add_option("--baseline", c_baseline, "Baseline file from `driftd baseline build`")
      ->required();
  check->add_option("--input", c_input, "Serving data: .csv or .jsonl")->required();
  std::string c_out;
  check->add_option("--format", c_format, "Report format: table, json, or html (one page)")
      ->check(CLI::IsMember({"json", "table", "html"}))
      ->capture_default_str();
  check->add_option("--out", c_out, "Write the report to this file (default: stdout)");
  check->add_option("--rules", c_rules, "Drift rules (TOML, see config/check.example.toml)");
  check->add_option("--drift-method", c_method,
                    "Default drift method: calibrated (every calibrated test, at "
                    "--false-alarm-rate; the default) or a statistic (e.g. psi, ks_p_value)");
  check->add_option("--drift-threshold", c_method_threshold,
                    "Threshold of a statistic used as the default method");
  check->add_option("--false-alarm-rate", c_false_alarm_rate,
                    "The calibrated method: the chance that data with no drift is called drift "
                    "(default 0.001)");
  check->add_option("--threshold", copt.threshold, "Classification threshold on the score")
      ->capture_default_str();
  check->add_option("--task", c_task, "classification or regression (default: the baseline's)")
      ->check(CLI::IsMember({"classification", "regression"}));
  check->add_option("--max-errors", copt.read.max_errors, "Malformed rows to skip before failing")
      ->capture_default_str();
  check->add_option("--model", c_model, "Refuse a baseline of another model");
  check->add_option("--model-version", c_version, "Refuse a baseline of another model version");
  check->add_flag("--fail-on-drift", fail_on_drift, "Exit 1 when the dataset drifts");

  // ---- run (the daemon) and config check
  std::string r_config;
  driftd::RunOptions r_options;
  auto* run = app.add_subcommand("run", "Run the monitoring daemon");
  run->add_option("--config", r_config, "driftd.toml")->required();
  run->add_flag("--exit-when-done", r_options.exit_when_done,
                "Exit (after a checkpoint) once every source without follow reached its end");
  auto* config_cmd = app.add_subcommand("config", "Configuration files");
  config_cmd->require_subcommand(1);
  std::string cc_file;
  auto* config_check = config_cmd->add_subcommand(
      "check", "Validate a daemon configuration (and its baselines) without starting");
  config_check->add_option("file", cc_file, "driftd.toml")->required();

  // ---- rules
  auto* rules_cmd = app.add_subcommand("rules", "Alert rules, reviewed like code");
  rules_cmd->require_subcommand(1);
  std::string rc_file, rt_file, rr_config, rr_windows;
  auto* rules_check = rules_cmd->add_subcommand(
      "check", "Validate the alert rules of a daemon configuration and print each one parsed");
  rules_check->add_option("file", rc_file, "driftd.toml")->required();
  auto* rules_test = rules_cmd->add_subcommand(
      "test", "Run rule tests: windows in, expected alerts out (exit 1 on a failed test)");
  rules_test->add_option("file", rt_file, "a rule test file (TOML)")->required();
  auto* rules_replay = rules_cmd->add_subcommand(
      "replay", "Backtest the configured rules on a recorded windows log");
  rules_replay->add_option("--config", rr_config, "driftd.toml")->required();
  rules_replay->add_option("--windows", rr_windows, "a windows log (JSON lines)")->required();

  // ---- version
  auto* version = app.add_subcommand("version", "Version and SIMD targets");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitError;
  }
  if (verbose) spdlog::set_level(spdlog::level::info);

  auto target = driftd::select_simd_target_from_env();
  if (!target) return fail(target.error().message);
  spdlog::info("SIMD target {} (set DRIFTD_SIMD_TARGET to force one)", *target);

  if (run->parsed()) return driftd::run_daemon(r_config, r_options);
  if (config_check->parsed()) {
    auto config = driftd::load_daemon_config(cc_file);
    if (!config) return fail(config.error().message);
    if (auto st = driftd::check_daemon_environment(*config); !st) return fail(st.error().message);
    for (const auto& w : driftd::alerts::rule_warnings(*config)) {
      std::fprintf(stderr, "driftd: warning: %s\n", w.c_str());
    }
    const size_t models = config->models.size(), sources = config->sources.size();
    std::printf("%s: ok (%zu model%s, %zu source%s)\n", cc_file.c_str(), models,
                models == 1 ? "" : "s", sources, sources == 1 ? "" : "s");
    return 0;
  }

  if (rules_check->parsed()) {
    auto config = driftd::load_daemon_config(rc_file);
    if (!config) return fail(config.error().message);
    size_t rules = 0;
    const std::string text = driftd::alerts::describe_rules(*config, rules);
    for (const auto& w : driftd::alerts::rule_warnings(*config)) {
      std::fprintf(stderr, "driftd: warning: %s\n", w.c_str());
    }
    std::printf("%s: ok (%zu rule%s)\n%s", rc_file.c_str(), rules, rules == 1 ? "" : "s",
                text.c_str());
    return 0;
  }
  if (rules_test->parsed()) {
    auto report = driftd::alerts::run_rule_tests(rt_file);
    if (!report) return fail(report.error().message);
    std::printf("%s\n%s", rt_file.c_str(), report->text.c_str());
    return report->passed == report->tests ? 0 : 1;
  }
  if (rules_replay->parsed()) {
    auto config = driftd::load_daemon_config(rr_config);
    if (!config) return fail(config.error().message);
    auto report = driftd::alerts::replay_rules(*config, rr_windows);
    if (!report) return fail(report.error().message);
    std::fputs(report->text.c_str(), stdout);
    return 0;
  }

  if (version->parsed()) {
    std::printf("driftd %s\nSIMD target: %s\nsupported:", DRIFTD_VERSION, target->c_str());
    for (const auto& t : driftd::supported_simd_targets()) std::printf(" %s", t.c_str());
    std::printf("\n");
    return 0;
  }

  if (build->parsed()) {
    bopt.categorical = split_list(b_categorical);
    if (!b_task.empty()) bopt.task = parse_task(b_task);
    bopt.read.progress = progress_for("reading " + b_input);
    const auto t0 = std::chrono::steady_clock::now();
    PhaseTimer phases;
    auto file = driftd::FileBuffer::load(b_input);
    if (!file) return fail(file.error().message);
    phases.done("load input");
    auto baseline = driftd::build_baseline(*file, bopt);
    if (!baseline) return fail(baseline.error().message);
    phases.done("read and profile");
    const std::vector<std::string> pieces = driftd::serialize_baseline_pieces(*baseline);
    phases.done("serialize");
    if (auto st = driftd::write_file_atomic(b_out, pieces); !st) return fail(st.error().message);
    phases.done("write and fsync");
    end_progress();
    spdlog::info("baseline of {} rows x {} columns written to {} in {:.3f} s", baseline->input.rows,
                 baseline->columns.size(), b_out,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    print_baseline_summary(*baseline, b_out);
    if (baseline->input.skipped_rows) {
      std::fprintf(stderr, "driftd: warning: %llu malformed rows skipped\n",
                   static_cast<unsigned long long>(baseline->input.skipped_rows));
    }
    return 0;
  }

  if (check->parsed()) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!c_rules.empty()) {
      auto rules = driftd::load_drift_rules(c_rules);
      if (!rules) return fail(rules.error().message);
      copt.rules = *rules;
    }
    if (!c_method.empty()) copt.rules.default_method = c_method;
    if (c_method_threshold) {
      if (copt.rules.default_method == driftd::kCalibratedMethod) {
        return fail(
            "--drift-threshold: the calibrated method has no threshold (set "
            "--false-alarm-rate, or name a statistic with --drift-method)");
      }
      copt.rules.method_thresholds[copt.rules.default_method] = *c_method_threshold;
    }
    if (c_false_alarm_rate) copt.rules.false_alarm_rate = *c_false_alarm_rate;
    if (auto st = copt.rules.validate(); !st) return fail(st.error().message);
    if (!c_task.empty()) copt.task = parse_task(c_task);
    PhaseTimer phases;
    // The input is mapped (MAP_POPULATE: the kernel's work) on another core
    // while this one parses the baseline.
    auto input_load =
        std::async(std::launch::async, [&] { return driftd::FileBuffer::load(c_input); });
    auto baseline = driftd::load_baseline(c_baseline);
    phases.done("load baseline");
    auto file = input_load.get();
    phases.done("load input");
    if (!baseline) return fail(baseline.error().message);
    if (auto st = driftd::check_baseline_identity(*baseline, c_baseline, c_model, c_version); !st) {
      return fail(st.error().message);
    }
    copt.read.progress = progress_for("reading " + c_input);
    if (!file) return fail(file.error().message);
    auto table =
        driftd::read_table(*file, driftd::detect_format(*file), baseline->schema(), copt.read);
    if (!table) return fail(table.error().message);
    phases.done("read");
    driftd::Result<driftd::CheckReport> report =
        driftd::compare(*baseline, std::move(*table), copt);
    phases.done("compare");
    if (!report) return fail(report.error().message);
    end_progress();
    std::string text;
    if (c_format == "json") {
      text = driftd::report_json(*report);
    } else if (c_format == "html") {
      driftd::HtmlReportContext context;
      context.title = std::filesystem::path(c_input).filename().string();
      context.baseline = std::filesystem::path(c_baseline).filename().string();
      context.generated_at = driftd::format_rfc3339_ms(driftd::wall_clock_ms());
      text = driftd::report_html(*report, context);
    } else {
      const bool color =
          c_out.empty() && ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
      text = driftd::report_table(*report, color);
    }
    if (c_out.empty()) {
      std::fputs(text.c_str(), stdout);
    } else if (auto st = driftd::write_file_atomic(c_out, text); !st) {
      return fail(st.error().message);
    }
    phases.done("report");
    spdlog::info("checked {} rows in {:.3f} s", report->rows,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return fail_on_drift && report->dataset_drift ? kExitDrift : 0;
  }
  return 0;
}
