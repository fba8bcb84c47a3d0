// One [[sinks]] table read from TOML text, for the sink tests.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "alerts/sinks/sink.h"

namespace driftd::alerts::test {

// The first [[sinks]] table of `text` (source "d.toml", state dir
// /var/lib/driftd) as parse_sink reads it.
inline Result<SinkConfig> sink_from(const std::string& text) {
  static const std::string source = "d.toml";
  auto doc = parse_toml(text, source);
  REQUIRE(doc.ok());
  static toml::table table;  // outlives the reader's references into it
  table = std::move(*doc);
  return parse_sink(*table.get_as<toml::array>("sinks")->get(0)->as_table(), "sinks[0]", source,
                    "/var/lib/driftd");
}

}  // namespace driftd::alerts::test
