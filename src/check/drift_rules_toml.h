// The [drift] table parser, shared by the check's rules file and the
// daemon's configuration (each model embeds one).
#pragma once

#include <string>

#include <toml++/toml.h>

#include "driftd/check/check.h"

namespace driftd {

// `prefix` is the table's dotted key, used in messages ("models[0].drift").
Result<DriftRules> parse_drift_node(const toml::node& drift, const std::string& source,
                                    const std::string& prefix);

}  // namespace driftd
