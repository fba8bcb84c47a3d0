// Fuzz target: serving data (CSV or JSON lines, the fuzzer's bytes) checked
// against the golden baseline and written as the HTML report. Column and
// category names come from the data: besides memory errors, it aborts when
// any '<' in the page opens a tag driftd does not write (a name that
// reached the page unescaped), or the page is cut short.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "driftd/check/check.h"
#include "driftd/check/report_html.h"
#include "driftd/io/file_buffer.h"
#include "fuzz_util.h"

namespace {

bool known_tag(std::string_view rest) {
  static constexpr std::string_view kTags[] = {
      "!DOCTYPE", "html", "head",    "meta",   "title", "style", "body",  "main",  "h1", "h2",
      "h3",       "p",    "span",    "div",    "b",     "table", "thead", "tbody", "tr", "th",
      "td",       "a",    "section", "footer", "svg",   "line",  "text",  "rect"};
  if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
  for (const std::string_view tag : kTags) {
    if (rest.substr(0, tag.size()) == tag && rest.size() > tag.size() &&
        (rest[tag.size()] == '>' || rest[tag.size()] == ' ' || rest[tag.size()] == '/')) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto baseline = driftd::fuzz::shared_golden_baseline();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const bool jsonl = size > 0 && data[0] == '{';
  const driftd::FileBuffer input =
      driftd::FileBuffer::from_string(text, jsonl ? "fuzz.jsonl" : "fuzz.csv");
  driftd::CheckOptions options;
  options.read.max_errors = 1u << 20;
  auto report = driftd::run_check(*baseline, input, options);
  if (!report) return 0;
  driftd::HtmlReportContext context;
  context.title = text.substr(0, 64);  // outside bytes in the header too
  const std::string page = driftd::report_html(*report, context);
  if (page.size() < 8 || page.compare(page.size() - 8, 8, "</html>\n") != 0) std::abort();
  for (size_t at = page.find('<'); at != std::string::npos; at = page.find('<', at + 1)) {
    if (!known_tag(std::string_view(page).substr(at + 1, 12))) {
      std::fprintf(stderr, "unknown tag at %zu: %.20s\n", at, page.c_str() + at);
      std::abort();
    }
  }
  return 0;
}
