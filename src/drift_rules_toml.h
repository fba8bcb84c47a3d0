// TOML helpers shared by the check's rules file and the daemon's
// configuration: parsing with located errors, and the [drift] table parser
// (each daemon model embeds one).
#pragma once

#include <string>

#include <toml++/toml.h>

#include "driftd/check.h"

namespace driftd {

// Parses TOML text; a syntax error becomes "source:line:column: what".
Result<toml::table> parse_toml(std::string_view text, const std::string& source);

// `prefix` is the table's dotted key, used in messages ("models[0].drift").
Result<DriftRules> parse_drift_node(const toml::node& drift, const std::string& source,
                                    const std::string& prefix);

}  // namespace driftd
