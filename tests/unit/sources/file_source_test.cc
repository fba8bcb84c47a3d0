// The file source's two ways of reading, a window mapped over the backlog
// and read() after it, hand out the same lines at the same offsets; the
// mapped window survives the file being truncated under it, and a SIGBUS
// that is not a window's still ends the process.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <simdjson.h>

#include "driftd/io/file_window.h"
#include "src/sources/file/csv_events.h"
#include "src/sources/file/file_source.h"
#include "test_util.h"

namespace driftd {
namespace {

struct Line {
  std::string text;
  uint64_t offset = 0;
  bool operator==(const Line& o) const { return text == o.text && offset == o.offset; }
};

struct Recorder : LineHandler {
  std::vector<Line> lines;
  int too_long = 0;
  void on_line(const char* data, size_t len, size_t capacity, const LineOrigin& origin) override {
    if (data == nullptr) {
      ++too_long;
      return;
    }
    REQUIRE(capacity >= len + simdjson::SIMDJSON_PADDING);
    // The padding is readable: the last byte the parser may touch.
    volatile char last = data[capacity - 1];
    (void)last;
    lines.push_back({std::string(data, len), origin.offset});
  }
  struct Refused {
    std::string raw, why;
    uint64_t offset = 0;
  };
  std::vector<Refused> refused;
  void on_refused(std::string_view raw, RejectReason reason, std::string_view why,
                  const LineOrigin& origin) override {
    CHECK(reason == RejectReason::kInvalidJson);
    refused.push_back({std::string(raw), std::string(why), origin.offset});
  }
};

SourceConfig file_config(const std::string& path, bool follow = false, bool csv = false) {
  SourceConfig c;
  c.name = "events";
  c.type = "file";
  FileSourceOptions o;
  o.path = path;
  o.follow = follow;
  o.csv = csv;
  c.options = std::make_shared<FileSourceOptions>(std::move(o));
  return c;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

void append_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

// Polls until the source ends or stops giving anything.
void drain(Source& source, Recorder& r) {
  for (int idle = 0; !source.at_end() && idle < 3;) idle = source.poll(r) ? 0 : idle + 1;
}

std::vector<Line> read_all(const std::string& path, size_t window_bytes,
                           const std::string* saved = nullptr, bool csv = false,
                           Recorder* out = nullptr) {
  auto source = make_file_source(file_config(path, false, csv), window_bytes);
  REQUIRE(source->open(saved).ok());
  Recorder r;
  drain(*source, r);
  REQUIRE(source->at_end());
  REQUIRE(r.too_long == 0);
  if (out != nullptr) *out = r;
  if (!csv) REQUIRE(r.refused.empty());
  return r.lines;
}

// Lines of many lengths (some longer than the small windows below, some
// blank, some ending in \r\n), the last one without its newline.
std::string varied_lines(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  std::string bytes;
  for (int i = 0; i < n; ++i) {
    const int kind = static_cast<int>(rng() % 10);
    size_t len = rng() % 400;
    if (kind == 0) len = 5000 + rng() % 20000;  // longer than a 4 KiB window
    if (kind == 1) len = 0;
    std::string line = "{\"i\":" + std::to_string(i) + ",\"pad\":\"";
    line.append(len, static_cast<char>('a' + i % 26));
    line += "\"}";
    if (kind == 1 && i + 1 < n) line = "   ";
    bytes += line;
    if (i + 1 < n) bytes += kind == 2 ? "\r\n" : "\n";
  }
  return bytes;
}

TEST_CASE("the mapped backlog hands out what read() does, at the same offsets", "[daemon][file]") {
  const auto dir = test::temp_dir("file-source");
  const std::string path = (dir / "events.jsonl").string();
  write_file(path, varied_lines(7, 3000));
  const auto expected = read_all(path, 0);  // read() only
  REQUIRE(expected.size() > 2500);
  REQUIRE(expected.back().text.rfind("{\"i\":2999,", 0) == 0);  // the unterminated last line
  for (size_t window : {size_t{4096}, size_t{5000}, size_t{1} << 16, kFileWindowBytes}) {
    INFO("window " << window);
    CHECK(read_all(path, window) == expected);
  }
  // Resumed from a checkpoint's position, mid-file.
  const Line& resume = expected[expected.size() / 2];
  const std::string saved = encode_number_position(resume.offset);
  const std::vector<Line> rest(expected.begin() + static_cast<long>(expected.size() / 2),
                               expected.end());
  CHECK(read_all(path, 0, &saved) == rest);
  CHECK(read_all(path, 4096, &saved) == rest);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a followed file: the backlog's unfinished last line waits for its end",
          "[daemon][file]") {
  const auto dir = test::temp_dir("file-follow");
  const std::string path = (dir / "events.jsonl").string();
  write_file(path, "{\"a\":1}\n{\"a\":2}\n{\"a\":");
  auto source = make_file_source(file_config(path, true), 4096);
  REQUIRE(source->open(nullptr).ok());
  Recorder r;
  drain(*source, r);
  REQUIRE(r.lines.size() == 2);
  {
    const auto status = std::dynamic_pointer_cast<const FileSourceStatus>(source->status());
    REQUIRE(status != nullptr);
    CHECK(status->offset == 16);
    // The file holds the unfinished third line's 5 bytes past the offset.
    REQUIRE(status->backlog_bytes.has_value());
    CHECK(*status->backlog_bytes == 5);
  }
  append_file(path, "3}\n{\"a\":4}\n");
  drain(*source, r);
  REQUIRE(r.lines.size() == 4);
  CHECK(r.lines[2] == Line{"{\"a\":3}", 16});
  CHECK(r.lines[3] == Line{"{\"a\":4}", 24});
  CHECK_FALSE(source->at_end());
  std::filesystem::remove_all(dir);
}

TEST_CASE("a followed file rotated or truncated after its backlog is read from its start",
          "[daemon][file]") {
  const auto dir = test::temp_dir("file-rotate");
  const std::string path = (dir / "events.jsonl").string();
  write_file(path, "{\"a\":1}\n{\"a\":2}\n");
  auto source = make_file_source(file_config(path, true), 4096);
  REQUIRE(source->open(nullptr).ok());
  Recorder r;
  drain(*source, r);
  REQUIRE(r.lines.size() == 2);
  // Rotated: renamed away, a new file in its place.
  std::filesystem::rename(path, (dir / "events.jsonl.1").string());
  write_file(path, "{\"b\":1}\n");
  drain(*source, r);
  REQUIRE(r.lines.size() == 3);
  CHECK(r.lines[2] == Line{"{\"b\":1}", 0});
  // Truncated in place (copytruncate) and written again.
  REQUIRE(::truncate(path.c_str(), 0) == 0);
  drain(*source, r);
  append_file(path, "{\"c\":1}\n");
  drain(*source, r);
  REQUIRE(r.lines.size() == 4);
  CHECK(r.lines[3] == Line{"{\"c\":1}", 0});
  std::filesystem::remove_all(dir);
}

TEST_CASE("a file truncated while its backlog is read: no crash, read on from the new end",
          "[daemon][file]") {
  const auto dir = test::temp_dir("file-truncated");
  const std::string path = (dir / "events.jsonl").string();
  std::string bytes;
  for (int i = 0; i < 200000; ++i) bytes += "{\"i\":" + std::to_string(i) + "}\n";
  REQUIRE(bytes.size() > (2u << 20));
  write_file(path, bytes);
  auto source = make_file_source(file_config(path), 4096);
  REQUIRE(source->open(nullptr).ok());
  Recorder r;
  REQUIRE(source->poll(r));  // a MiB of lines, through windows
  const size_t before = r.lines.size();
  REQUIRE(before > 50000);
  REQUIRE(before < 200000);
  // Another process empties the file and writes two lines.
  REQUIRE(::truncate(path.c_str(), 0) == 0);
  append_file(path, "{\"late\":1}\n{\"late\":2}\n");
  drain(*source, r);
  CHECK(r.lines.size() == before);  // nothing past the new end
  CHECK(source->at_end());
  // Truncated before the first poll: the source reads the new content.
  write_file(path, bytes);
  auto third = make_file_source(file_config(path), 4096);
  REQUIRE(third->open(nullptr).ok());
  REQUIRE(::truncate(path.c_str(), 9) == 0);  // "{\"i\":0}\n{"
  Recorder r3;
  drain(*third, r3);
  REQUIRE(r3.lines.size() == 2);
  CHECK(r3.lines[0] == Line{"{\"i\":0}", 0});
  CHECK(r3.lines[1] == Line{"{", 8});  // the cut last line, as read() hands it out
  std::filesystem::remove_all(dir);
}

TEST_CASE("a line longer than any event, in the backlog, is skipped and reported once",
          "[daemon][file]") {
  const auto dir = test::temp_dir("file-long-line");
  const std::string path = (dir / "events.jsonl").string();
  std::string bytes = "{\"a\":1}\n";
  bytes.append(18u << 20, 'x');  // read() notices past 16 MiB, at its next 1 MiB read
  bytes += "\n{\"a\":2}\n";
  write_file(path, bytes);
  for (size_t window : {size_t{0}, size_t{4096}, kFileWindowBytes}) {
    INFO("window " << window);
    auto source = make_file_source(file_config(path), window);
    REQUIRE(source->open(nullptr).ok());
    Recorder r;
    drain(*source, r);
    CHECK(r.too_long == 1);
    REQUIRE(r.lines.size() == 2);
    CHECK(r.lines[0].text == "{\"a\":1}");
    CHECK(r.lines[1].text == "{\"a\":2}");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a window reads zeros, not SIGBUS, past the end of a file truncated under it",
          "[daemon][file]") {
  const auto dir = test::temp_dir("file-window");
  const std::string path = (dir / "data").string();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  write_file(path, std::string(5 * page, 'x'));
  const int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  FileWindow window;
  REQUIRE(window.map(fd, 100, 4 * page));  // an offset that is not a page's
  CHECK(window.offset() == 100);
  CHECK(window.size() == 4 * page);
  REQUIRE(window.capacity() >= window.size() + simdjson::SIMDJSON_PADDING);
  CHECK(window.data()[0] == 'x');
  CHECK(window.data()[window.size() - 1] == 'x');
  CHECK(window.data()[window.capacity() - 1] == '\0');  // the zeros after the bytes
  CHECK_FALSE(window.shrank());
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(page)) == 0);
  const volatile char* bytes = window.data();
  CHECK(bytes[50] == 'x');         // still in the file
  CHECK(bytes[3 * page] == '\0');  // past its new end: zeros
  CHECK(bytes[4 * page - 1] == '\0');
  CHECK(window.shrank());
  // Moved, the window keeps its guard.
  FileWindow moved = std::move(window);
  CHECK(moved.shrank());
  CHECK_FALSE(window.mapped());
  // A new mapping starts unshrunk.
  REQUIRE(moved.map(fd, 0, page));
  CHECK_FALSE(moved.shrank());
  ::close(fd);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a SIGBUS outside any window still ends the process", "[daemon][file]") {
  const auto dir = test::temp_dir("file-sigbus");
  const std::string path = (dir / "data").string();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  write_file(path, std::string(4 * page, 'x'));
  const int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  FileWindow window;
  REQUIRE(window.map(fd, 0, page));  // the guard is installed
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // A sanitizer reports the fault and aborts: no test framework's abort
    // handler in the child.
    ::signal(SIGABRT, SIG_DFL);
    // A mapping of the process's own, not a window.
    void* p = ::mmap(nullptr, 4 * page, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED || ::ftruncate(::open(path.c_str(), O_WRONLY), 0) != 0) ::_exit(3);
    const volatile char* bytes = static_cast<const char*>(p);
    const char c = bytes[2 * page];  // past the end: SIGBUS
    ::_exit(c == 0 ? 0 : 4);         // reached only if the fault was swallowed
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  // Killed by SIGBUS; or, in a sanitizer build, the sanitizer's handler
  // (the one installed before the window's) reported it and aborted or
  // exited non-zero.
  const bool killed =
      WIFSIGNALED(status) && (WTERMSIG(status) == SIGBUS || WTERMSIG(status) == SIGABRT);
  const bool reported = WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3 &&
                        WEXITSTATUS(status) != 4;
  CHECK((killed || reported));
  ::close(fd);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace driftd

namespace driftd {
namespace {

TEST_CASE("is_json_number accepts exactly RFC 8259's numbers", "[daemon][csv]") {
  for (const char* yes : {"0", "-0", "12", "-1.5", "0.25", "1e5", "1E+5", "2.5e-3", "-0.0e0"}) {
    CHECK(is_json_number(yes));
  }
  for (const char* no : {"", "-", "01", "+1", "1.", ".5", "1e", "1e+", "0x10", "1,5", " 1", "1 ",
                         "NaN", "inf", "--1", "1.2.3", "1e5.0"}) {
    INFO(no);
    CHECK_FALSE(is_json_number(no));
  }
}

TEST_CASE("a CSV row becomes the JSON event the decoder reads", "[daemon][csv]") {
  CsvEvents csv(EventFields{});
  REQUIRE(csv.set_header("model,model_version,id,ts,amount,country,prediction,label,note"));
  REQUIRE(
      csv.translate("fraud,3,req-1,1764115200000,12.5,DE,0.83,true,\"a \"\"quoted\"\", text\""));
  const std::string json(csv.json(), csv.json_size());
  CHECK(json ==
        "{\"model\":\"fraud\",\"model_version\":\"3\",\"id\":\"req-1\",\"ts\":1764115200000,"
        "\"prediction\":0.83,\"label\":true,\"features\":{\"amount\":12.5,\"country\":\"DE\","
        "\"note\":\"a \\\"quoted\\\", text\"}}");
  REQUIRE(csv.json_capacity() >= csv.json_size() + simdjson::SIMDJSON_PADDING);
  // Valid JSON, as simdjson reads it.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(!parser.parse(json).get(doc));
  // Empty cells are missing; text that is not a number is a string (an
  // ISO time too); a numeric-looking id stays a string.
  REQUIRE(
      csv.translate("fraud,,007,2026-11-22T10:00:00Z,,true,NaN,,line\x01"
                    "end"));
  CHECK(std::string(csv.json(), csv.json_size()) ==
        "{\"model\":\"fraud\",\"id\":\"007\",\"ts\":\"2026-11-22T10:00:00Z\",\"prediction\":"
        "\"NaN\",\"features\":{\"country\":true,\"note\":\"line\\u0001end\"}}");
  // Wrong field counts and broken quoting are refused with a reason.
  CHECK_FALSE(csv.translate("fraud,3,req-1"));
  CHECK(csv.why() == "the CSV row has 3 fields, the header 9");
  CHECK_FALSE(csv.translate("fraud,3,\"req-1,1,2,3,4,5,6"));
  CHECK(csv.why().find("quoted field is never closed") != std::string::npos);
  // A broken header: every row after it is refused with its reason.
  CsvEvents broken(EventFields{});
  CHECK_FALSE(broken.set_header("model,\"id"));
  CHECK(broken.has_header());
  CHECK_FALSE(broken.translate("fraud,1"));
  CHECK(broken.why().find("the CSV header is broken") != std::string::npos);
  broken.reset();
  CHECK_FALSE(broken.has_header());
}

TEST_CASE("a CSV file source: rows as events, the header read again when resuming",
          "[daemon][csv][file]") {
  const auto dir = test::temp_dir("file-csv");
  const std::string path = (dir / "events.csv").string();
  write_file(path,
             "model,id,ts,x\r\nfraud,a,1,1.5\r\nfraud,b,2\r\n\r\nfraud,c,3,\"2,5\"\r\nfraud,d,4,7");
  for (size_t window : {size_t{0}, size_t{4096}}) {
    INFO("window " << window);
    Recorder r;
    const auto lines = read_all(path, window, nullptr, true, &r);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] ==
          Line{"{\"model\":\"fraud\",\"id\":\"a\",\"ts\":1,\"features\":{\"x\":1.5}}", 15});
    CHECK(lines[1].text ==
          "{\"model\":\"fraud\",\"id\":\"c\",\"ts\":3,\"features\":{\"x\":\"2,5\"}}");
    CHECK(lines[2].offset == 60);
    REQUIRE(r.refused.size() == 1);
    CHECK(r.refused[0].raw == "fraud,b,2");
    CHECK(r.refused[0].offset == 30);
    CHECK(r.refused[0].why == "the CSV row has 3 fields, the header 4");
    // From a checkpoint's position: the header comes from the file's start.
    const std::string saved = encode_number_position(lines[1].offset);
    const auto rest = read_all(path, window, &saved, true);
    REQUIRE(rest.size() == 2);
    CHECK(rest[0] == lines[1]);
    CHECK(rest[1] == lines[2]);
  }
  // A byte order mark before the header is skipped; a broken header is
  // refused like a row, and so is every row after it.
  write_file(path, "\xEF\xBB\xBFmodel,x\nfraud,1\n");
  const auto with_bom = read_all(path, 4096, nullptr, true);
  REQUIRE(with_bom.size() == 1);
  CHECK(with_bom[0].text == "{\"model\":\"fraud\",\"features\":{\"x\":1}}");
  write_file(path, "model,\"x\nfraud,1\n");
  Recorder broken;
  CHECK(read_all(path, 4096, nullptr, true, &broken).empty());
  REQUIRE(broken.refused.size() == 2);
  CHECK(broken.refused[0].raw == "model,\"x");
  CHECK(broken.refused[0].offset == 0);
  CHECK(broken.refused[1].why.find("the CSV header is broken") != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace driftd
