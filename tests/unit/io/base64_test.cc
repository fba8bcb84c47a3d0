// Base64 (RFC 4648) for the baseline's samples.
#include <cstring>
#include <limits>
#include <random>

#include "driftd/io/base64.h"
#include "test_util.h"

using namespace driftd;

namespace {
std::string encode(std::string_view s) {
  std::string out;
  base64_append(out, {reinterpret_cast<const unsigned char*>(s.data()), s.size()});
  return out;
}
}  // namespace

TEST_CASE("base64 matches the RFC 4648 test vectors", "[base64]") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : vectors) {
    CHECK(encode(plain) == coded);
    const auto back = base64_decode(coded);
    REQUIRE(back);
    CHECK(std::string(back->begin(), back->end()) == plain);
  }
}

TEST_CASE("base64 refuses what is not canonical base64", "[base64]") {
  for (const char* bad :
       {"Zg=", "Zm9v!A==", "Zg==Zg==", "Zh==", "Zm9=", "====", "Z===", "Zm9vY\n=="}) {
    INFO(bad);
    CHECK_FALSE(base64_decode(bad));
  }
}

TEST_CASE("base64 round-trips random bytes of every length", "[base64]") {
  std::mt19937_64 rng(3);
  for (size_t len = 0; len < 200; ++len) {
    std::vector<unsigned char> bytes(len);
    for (auto& b : bytes) b = static_cast<unsigned char>(rng());
    std::string coded;
    base64_append(coded, bytes);
    CHECK(coded.size() == (len + 2) / 3 * 4);
    const auto back = base64_decode(coded);
    REQUIRE(back);
    CHECK(*back == bytes);
  }
}

TEST_CASE("doubles round-trip bit for bit through base64", "[base64]") {
  const std::vector<double> values{0.0,
                                   -0.0,
                                   1.5,
                                   -2.25e-300,
                                   std::numeric_limits<double>::denorm_min(),
                                   std::numeric_limits<double>::max(),
                                   3.141592653589793};
  const auto back = doubles_from_base64(doubles_to_base64(values));
  REQUIRE(back);
  REQUIRE(back->size() == values.size());
  CHECK(std::memcmp(back->data(), values.data(), values.size() * sizeof(double)) == 0);
  // Little-endian on the wire: 1.0 is 00 00 00 00 00 00 f0 3f.
  CHECK(doubles_to_base64(std::vector<double>{1.0}) == "AAAAAAAA8D8=");
  CHECK_FALSE(doubles_from_base64("AAAA"));  // 3 bytes: not a whole double
}
