// log |Gamma(x)| without std::lgamma's global: lgamma writes `signgam`, a
// data race when statistics run on several threads at once (ThreadSanitizer
// found it in `driftd check`, whose features are compared in parallel).
// lgamma_r (glibc; POSIX.1-2024) returns the sign instead, with the same
// value.
#pragma once

#include <math.h>

namespace driftd {

inline double log_gamma(double x) {
  int sign = 0;
  return ::lgamma_r(x, &sign);
}

}  // namespace driftd
