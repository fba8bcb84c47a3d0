// The drift report for people: one self-contained HTML file (styles and SVG
// plots inline, no script, no network), opened in any browser or mailed.
// Every piece of text from the data (column and category names, the model)
// is escaped: a category named "<script>" is shown, never run.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/check/check.h"
#include "driftd/check/report.h"
#include "driftd/check/report_html.h"
#include "driftd/detectors/detector.h"

namespace driftd {

namespace {

void escape(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

std::string esc(std::string_view text) {
  std::string out;
  escape(out, text);
  return out;
}

std::string number(std::optional<double> v, const char* fmt = "%.4g") {
  if (!v) return "&ndash;";
  if (std::isinf(*v)) return *v > 0 ? "&infin;" : "&minus;&infin;";
  if (std::isnan(*v)) return "NaN";
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, *v);
  return buf;
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v != 0 && std::fabs(v) < 0.001 ? "%.2g%%" : "%.1f%%", v * 100);
  return buf;
}

// The x-axis label of each bin, as HTML: numeric bins as value ranges on
// the baseline's cut points, categorical bins by name (escaped).
std::vector<std::string> bin_labels(const Distribution& d) {
  std::vector<std::string> out;
  if (!d.labels.empty()) {
    for (const auto& name : d.labels) out.push_back(esc(name));  // from the data
    return out;
  }
  const size_t bins = d.baseline.size();
  for (size_t i = 0; i < bins; ++i) {
    if (d.edges.empty()) {
      out.push_back("all");
    } else if (i == 0) {
      out.push_back("&lt; " + number(d.edges.front()));
    } else if (i + 1 == bins) {
      out.push_back("&ge; " + number(d.edges.back()));
    } else {
      out.push_back(number(d.edges[i - 1]) + "&ndash;" + number(d.edges[i]));
    }
  }
  return out;
}

// Baseline and current shares per bin, side by side; new categories
// marked. Numeric bins hold equal baseline mass and are drawn at equal
// width (so a heavy tail does not squeeze the rest into one bar).
void histogram_svg(std::string& out, const Distribution& d) {
  const size_t bins = d.baseline.size();
  if (bins == 0) return;
  const std::vector<std::string> labels = bin_labels(d);
  const bool categorical = !d.labels.empty();
  double top = 0;
  for (size_t i = 0; i < bins; ++i) top = std::max({top, d.baseline[i], d.current[i]});
  if (!(top > 0)) top = 1;
  const double left = 48, plot_w = std::max(360.0, 30.0 * static_cast<double>(bins));
  const double plot_h = 160, label_h = categorical ? 90 : 70;
  const double width = left + plot_w + 12, height = 14 + plot_h + label_h;
  const double slot = plot_w / static_cast<double>(bins), bar = slot * 0.4;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%.0f\" "
                "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">",
                width, height, width, height);
  out += buf;
  for (int t = 0; t <= 4; ++t) {
    const double y = 14 + plot_h - plot_h * t / 4.0;
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>",
                  left, y, left + plot_w, y, left - 4, y + 4, percent(top * t / 4.0).c_str());
    out += buf;
  }
  for (size_t i = 0; i < bins; ++i) {
    const double x = left + slot * static_cast<double>(i) + slot * 0.1;
    const bool is_new = i >= d.first_new;
    for (int side = 0; side < 2; ++side) {
      const double share = side == 0 ? d.baseline[i] : d.current[i];
      const double h = plot_h * share / top;
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"%s\">"
                    "<title>",
                    x + side * bar, 14 + plot_h - h, bar, h,
                    side == 0 ? "base" : (is_new ? "new" : "cur"));
      out += buf;
      out += labels[i];
      out += side == 0 ? " baseline " : " current ";
      out += percent(share);
      out += "</title></rect>";
    }
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.1f\" y=\"%.1f\" class=\"tick%s\" text-anchor=\"end\" "
                  "transform=\"rotate(-40 %.1f %.1f)\">",
                  x + bar, 14 + plot_h + 12, is_new ? " newlabel" : "", x + bar, 14 + plot_h + 12);
    out += buf;
    out += labels[i];
    if (is_new) out += " (new)";
    out += "</text>";
  }
  out += "</svg>";
}

constexpr std::string_view kStyle = R"(<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:0 0 6px}
.meta{color:#5b6475}
.verdict{border-radius:8px;padding:16px 20px;margin:16px 0;color:#fff;font-size:17px}
.verdict.drift{background:#c62828}.verdict.ok{background:#2e7d32}
.verdict b{font-size:20px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}
th,td{padding:6px 10px;border-bottom:1px solid #e8ebef;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600}
.badge.drift{background:#fde0e0;color:#b71c1c}.badge.ok{background:#e0f2e3;color:#1b5e20}
.badge.missing{background:#fff0d6;color:#8a5300}
.feature{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:14px 16px;margin:14px 0}
.feature .stats{width:auto;border:none}.feature .stats td{border:none;padding:2px 12px 2px 0}
.legend span{display:inline-block;width:11px;height:11px;margin:0 4px 0 12px;vertical-align:-1px}
svg{display:block;margin:8px 0;max-width:100%;height:auto}
svg .grid{stroke:#e3e6eb}svg .tick{font-size:11px;fill:#5b6475}
svg .base{fill:#7e8ea8}svg .cur{fill:#ef8a17}svg .new{fill:#c62828}svg .newlabel{fill:#c62828;font-weight:600}
.l-base{background:#7e8ea8}.l-cur{background:#ef8a17}.l-new{background:#c62828}
footer{color:#7a8294;font-size:12px;margin-top:32px}
</style>)";

}  // namespace

std::string report_html(const CheckReport& r, const HtmlReportContext& context) {
  std::string out;
  out.reserve(64 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += "<title>driftd report: " + esc(r.model_name) + "@" + esc(r.model_version) + "</title>";
  out += kStyle;
  out += "</head><body><main>\n";
  out += "<h1>Drift report: " + esc(r.model_name) + " <span class=\"meta\">version " +
         esc(r.model_version) + "</span></h1>\n<p class=\"meta\">";
  if (!context.title.empty()) out += esc(context.title) + " &middot; ";
  out += std::to_string(r.rows) + " rows";
  if (r.skipped_rows > 0) out += " (" + std::to_string(r.skipped_rows) + " skipped)";
  if (!context.baseline.empty()) out += " &middot; baseline " + esc(context.baseline);
  out += "</p>\n";

  out += r.dataset_drift ? "<div class=\"verdict drift\"><b>Dataset drift</b>: "
                         : "<div class=\"verdict ok\"><b>No dataset drift</b>: ";
  out += std::to_string(r.features_drifted) + " of " + std::to_string(r.features_compared) +
         " features drift (" + percent(r.drift_share) + "; dataset drift at " +
         percent(r.share_threshold) + ")";
  // The prediction and the label are outside the share: said apart.
  for (const auto& f : r.features) {
    if (f.drift && f.role != ColumnRole::kFeature) {
      out += std::string("; the ") + to_string(f.role) + " (" + esc(f.name) + ") drifts";
    }
  }
  out += "</div>\n";
  if (!r.new_columns.empty() || !r.missing_columns.empty()) {
    out += "<p><b>Schema change.</b> ";
    if (!r.new_columns.empty()) {
      out += "New columns: ";
      for (size_t i = 0; i < r.new_columns.size(); ++i) {
        out += (i ? ", " : "") + esc(r.new_columns[i]);
      }
      out += ". ";
    }
    if (!r.missing_columns.empty()) {
      out += "Missing columns: ";
      for (size_t i = 0; i < r.missing_columns.size(); ++i) {
        out += (i ? ", " : "") + esc(r.missing_columns[i]);
      }
      out += ".";
    }
    out += "</p>\n";
  }

  // Most severe first (the drift method's value over its threshold).
  std::vector<const FeatureResult*> order;
  for (const auto& f : r.features) order.push_back(&f);
  std::stable_sort(order.begin(), order.end(), [](const FeatureResult* a, const FeatureResult* b) {
    if (a->drift != b->drift) return a->drift;
    return a->severity > b->severity;
  });
  out +=
      "<h2>Features</h2>\n<table><thead><tr><th>Feature</th><th>Kind</th><th>Role</th>"
      "<th>Method</th><th>Value</th><th>Threshold</th><th>Drift</th>"
      "<th>Missing (baseline &rarr; current)</th></tr></thead><tbody>\n";
  for (const FeatureResult* f : order) {
    out += "<tr><td><a href=\"#f-" + std::to_string(f - r.features.data()) + "\">" + esc(f->name) +
           "</a></td><td>" + kind_label(*f) + "</td><td>" + to_string(f->role) + "</td><td>" +
           esc(f->rule.method) + "</td><td class=\"n\">" + number(f->drift_value) +
           "</td><td class=\"n\">" + number(f->rule.threshold) + "</td><td>";
    if (f->status == "missing_in_serving") {
      out += "<span class=\"badge missing\">missing in serving</span>";
    } else {
      out += f->drift ? "<span class=\"badge drift\">drift</span>"
                      : "<span class=\"badge ok\">ok</span>";
    }
    out += "</td><td class=\"n\">" + percent(f->baseline_missing_rate) + " &rarr; " +
           percent(f->missing_rate) + "</td></tr>\n";
  }
  out += "</tbody></table>\n";

  if (r.performance) {
    out +=
        "<h2>Performance</h2>\n<table><thead><tr><th>Metric</th><th>Current</th>"
        "<th>Baseline</th><th>Change</th></tr></thead><tbody>\n";
    for (const auto& m : r.performance->metrics) {
      const std::optional<double> base =
          r.baseline_performance ? r.baseline_performance->get(m.name) : std::nullopt;
      std::optional<double> delta;
      if (m.value && base) delta = *m.value - *base;
      out += "<tr><td>" + esc(m.name) + "</td><td class=\"n\">" + number(m.value) +
             "</td><td class=\"n\">" + number(base) + "</td><td class=\"n\">" +
             number(delta, "%+.4g") + "</td></tr>\n";
    }
    out += "</tbody></table>\n<p class=\"meta\">" + std::to_string(r.performance->rows) +
           " rows with both a prediction and a label.</p>\n";
  }

  out +=
      "<h2>Distributions</h2>\n<p class=\"legend meta\">Share of present values per "
      "bin:<span class=\"l-base\"></span>baseline<span class=\"l-cur\"></span>current"
      "<span class=\"l-new\"></span>category the baseline never saw. Numeric bins are the "
      "baseline's quantile bins (equal baseline mass, drawn at equal width).</p>\n";
  for (const FeatureResult* f : order) {
    out += "<section class=\"feature\" id=\"f-" + std::to_string(f - r.features.data()) +
           "\"><h3>" + esc(f->name) + " ";
    out += f->drift ? "<span class=\"badge drift\">drift</span>"
                    : "<span class=\"badge ok\">ok</span>";
    out += "</h3>";
    if (f->distribution) {
      histogram_svg(out, *f->distribution);
    } else if (f->name == kMultivariateColumn) {
      out +=
          "<p class=\"meta\">The numeric features together: how far each row lies from the "
          "baseline's principal components (its reconstruction error, in standardized "
          "units), against the baseline's own rows.</p>";
    } else if (f->status == "missing_in_serving") {
      out += "<p class=\"meta\">The column is not in the serving data.</p>";
    } else {
      const bool has_values = f->rows > f->missing + f->type_errors + f->infinite;
      out += "<p class=\"meta\">No distribution: " +
             (has_values && !context.no_distribution_reason.empty()
                  ? esc(context.no_distribution_reason)
                  : std::string("no values to compare")) +
             ".</p>";
    }
    out += "<table class=\"stats\"><tr>";
    size_t shown = 0;
    for (const auto& s : f->stats) {
      if (!s.value) continue;
      if (shown > 0 && shown % 4 == 0) out += "</tr><tr>";
      out += "<td>" + esc(s.key) + " <b>" + number(s.value) + "</b></td>";
      ++shown;
    }
    out += "</tr><tr><td>missing " + percent(f->missing_rate) + " (baseline " +
           percent(f->baseline_missing_rate) + ")</td>";
    if (f->type_error_rate > 0) out += "<td>type errors " + percent(f->type_error_rate) + "</td>";
    out += "</tr></table></section>\n";
  }
  out += "<footer>Written by driftd " DRIFTD_VERSION;
  if (!context.generated_at.empty()) out += " at " + esc(context.generated_at);
  out += ". The statistics are defined in driftd's README (Statistics reference).</footer>\n";
  out += "</main></body></html>\n";
  return out;
}

}  // namespace driftd
