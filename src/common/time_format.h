// Times as people and APIs read them.
#pragma once

#include <cstdint>
#include <string>

namespace driftd {

// Milliseconds since the epoch as RFC 3339 UTC ("2026-12-02T16:45:31Z"),
// with ".mmm" when the time has milliseconds.
std::string format_rfc3339_ms(int64_t ms);

}  // namespace driftd
