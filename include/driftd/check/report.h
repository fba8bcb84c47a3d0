// A check's report written out: JSON for programs, a table for people
// (src/check/report.cc).
#pragma once

#include <string>

#include "driftd/check/check.h"

namespace driftd {

class JsonWriter;

// {"rows": N, "features": {...}, "drift_share": x, "dataset_drift": b,
//  "performance": {...}, ...}; see README "Report".
std::string report_json(const CheckReport& report);
// The same keys written into an object the caller has opened.
void write_report_fields(JsonWriter& w, const CheckReport& report);
// A column's kind as people read it: numeric, categorical, or
// multivariate (the multivariate test's pseudo-column).
const char* kind_label(const FeatureResult& f);
// For people: features by severity, drift marked, ANSI colour if `color`.
std::string report_table(const CheckReport& report, bool color);

}  // namespace driftd
