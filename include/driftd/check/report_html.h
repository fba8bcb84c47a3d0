// A check's report as a page (src/check/report_html.cc).
#pragma once

#include <string>

#include "driftd/check/check.h"

namespace driftd {

// One self-contained HTML page (inline styles and SVG, no script): the
// verdict, features by severity, each one's distribution against the
// baseline's, performance.
struct HtmlReportContext {
  std::string title;                   // e.g. the input file, or the window id
  std::string baseline;                // the baseline file's name
  std::string generated_at;            // ISO 8601
  std::string no_distribution_reason;  // shown for a feature without one
};
std::string report_html(const CheckReport& report, const HtmlReportContext& context = {});

}  // namespace driftd
