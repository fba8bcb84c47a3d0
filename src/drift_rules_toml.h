// The [drift] table parser, for configuration files that embed one (the
// check's rules file, and each model of the daemon's configuration).
#pragma once

#include <string>

#include <toml++/toml.h>

#include "driftd/check.h"

namespace driftd {

// `prefix` is the table's dotted key, used in messages ("models[0].drift").
Result<DriftRules> parse_drift_node(const toml::node& drift, const std::string& source,
                                    const std::string& prefix);

}  // namespace driftd
