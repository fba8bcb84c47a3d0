// Choice of SIMD instruction set at start-up.
#pragma once

#include <string>
#include <vector>

#include "driftd/common/result.h"

namespace driftd {

// Applies DRIFTD_SIMD_TARGET if set (avx3, avx2, sse4, ssse3, emu128 or scalar, whichever fallback
// the build has; case
// does not matter), restricting Highway's dispatch to that one target. An
// unknown name or a target this CPU lacks is an error naming the choices.
// Returns the name of the target that will run.
Result<std::string> select_simd_target_from_env();

// Names of the targets this CPU supports that driftd was compiled for.
std::vector<std::string> supported_simd_targets();

}  // namespace driftd
