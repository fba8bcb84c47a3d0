// HTTP ingest without a network: the ingest log's format (golden file,
// truncation at every length, corruption, other versions), the log on disk
// (reopen, torn tails, rolling and release), and request handling (NDJSON,
// arrays, refusals with line numbers, the label endpoint, backpressure).
#include <xxhash.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "driftd/daemon/daemon_config.h"
#include "driftd/sources/ingest_log.h"
#include "src/common/toml_reader.h"
#include "src/sources/http/http_ingest.h"
#include "test_util.h"

namespace driftd {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Rec {
  uint64_t seq;
  IngestKind kind;
  std::string payload;
  bool operator==(const Rec&) const = default;
};

std::vector<Rec> scan_all(std::string_view bytes, IngestSegmentScan* out = nullptr,
                          bool* error = nullptr) {
  std::vector<Rec> got;
  auto scan = scan_ingest_segment(bytes, "seg", [&](const IngestRecord& r) {
    got.push_back(Rec{r.seq, r.kind, std::string(r.payload)});
  });
  if (error) *error = !scan.ok();
  if (scan.ok() && out) *out = *scan;
  return got;
}

// Version 2's golden segment: a request of two predictions, then a label
// request of one.
const std::vector<Rec> kGoldenRecords = {
    {7, IngestKind::kPrediction,
     R"({"model":"fraud","model_version":"3","id":"req-1","ts":1764115200000,"features":{"amount":12.5,"country":"DE"},"prediction":0.83})"},
    {8, IngestKind::kPrediction,
     R"({"model":"fraud","features":{"city":"Zürich"},"ts":"2026-11-22T10:00:00Z"})"},
    {9, IngestKind::kLabel, R"({"model":"fraud","id":"req-1","label":1,"ts":1764115260000})"},
};
const std::vector<bool> kGoldenEnds = {false, true, true};

std::string golden_segment() {
  std::string out = encode_ingest_segment_header(7);
  for (size_t i = 0; i < kGoldenRecords.size(); ++i) {
    const Rec& r = kGoldenRecords[i];
    append_ingest_record(out, r.seq, r.kind, r.payload, kGoldenEnds[i]);
  }
  return out;
}

TEST_CASE("ingest log: golden segment, truncation at every length, corruption, versions",
          "[ingest][golden]") {
  const std::string bytes = golden_segment();
  const std::string golden_path = test::data_path("golden/ingest_segment_v2.bin");
  if (std::getenv("DRIFTD_WRITE_GOLDEN")) std::ofstream(golden_path, std::ios::binary) << bytes;
  const std::string golden = read_file(golden_path);
  CHECK(golden == bytes);

  IngestSegmentScan scan;
  CHECK(scan_all(golden, &scan) == kGoldenRecords);
  CHECK_FALSE(scan.damaged);
  CHECK(scan.version == 2);
  CHECK(scan.first_seq == 7);
  CHECK(scan.end_seq == 10);
  CHECK(scan.valid_bytes == golden.size());

  // Request boundaries: a cut there is clean; anywhere else a torn tail
  // that keeps every whole request before it, and none of the cut one
  // (a cut between the first request's two records keeps neither).
  std::vector<size_t> record_ends = {kIngestSegmentHeaderBytes};
  for (const auto& r : kGoldenRecords) {
    record_ends.push_back(record_ends.back() + kIngestRecordOverhead + r.payload.size());
  }
  const std::vector<size_t> request_ends = {record_ends[0], record_ends[2], record_ends[3]};
  const std::vector<size_t> records_before = {0, 2, 3};
  for (size_t len = 0; len < golden.size(); ++len) {
    bool error = false;
    IngestSegmentScan cut;
    const auto got = scan_all(std::string_view(golden).substr(0, len), &cut, &error);
    if (len < kIngestSegmentHeaderBytes) {
      CHECK(error);
      continue;
    }
    REQUIRE_FALSE(error);
    size_t complete = 0;
    while (complete + 1 < request_ends.size() && request_ends[complete + 1] <= len) ++complete;
    INFO("cut at " << len);
    CHECK(got.size() == records_before[complete]);
    CHECK(cut.valid_bytes == request_ends[complete]);
    CHECK(cut.end_seq == 7 + records_before[complete]);
    CHECK(cut.damaged == (len != request_ends[complete]));
  }

  // A changed byte in a record: the whole requests before it survive.
  for (size_t r = 0; r < kGoldenRecords.size(); ++r) {
    std::string bad = golden;
    bad[record_ends[r] + 20] ^= 0x40;  // inside record r's payload
    IngestSegmentScan s;
    const auto got = scan_all(bad, &s);
    CHECK(got.size() == (r < 2 ? 0 : 2));
    CHECK(s.damaged);
    CHECK(s.problem.find("checksum") != std::string::npos);
  }
  // A header byte, another magic.
  std::string bad_header = golden;
  bad_header[17] ^= 1;
  bool error = false;
  scan_all(bad_header, nullptr, &error);
  CHECK(error);
  std::string not_ours = golden;
  not_ours[0] = 'X';
  auto scan_magic = scan_ingest_segment(not_ours, "seg", nullptr);
  REQUIRE_FALSE(scan_magic.ok());
  CHECK(scan_magic.error().message.find("bad magic") != std::string::npos);
  // A record whose sequence number skips is damage, not data.
  std::string skipped = encode_ingest_segment_header(1);
  append_ingest_record(skipped, 1, IngestKind::kPrediction, "{}");
  append_ingest_record(skipped, 3, IngestKind::kPrediction, "{}");
  IngestSegmentScan s;
  CHECK(scan_all(skipped, &s).size() == 1);
  CHECK(s.problem.find("sequence number 3 where 2 was due") != std::string::npos);
  // A request whose last record never came (a crash between two records).
  std::string unfinished = encode_ingest_segment_header(1);
  append_ingest_record(unfinished, 1, IngestKind::kPrediction, "{}");
  append_ingest_record(unfinished, 2, IngestKind::kPrediction, "{}", false);
  CHECK(scan_all(unfinished, &s).size() == 1);
  CHECK(s.damaged);
  CHECK(s.end_seq == 2);
  CHECK(s.problem.find("a request cut short") != std::string::npos);
}

TEST_CASE("ingest log: version 1 segments still read, other versions refused by name",
          "[ingest][golden]") {
  // Version 1 (before request groups): every record a request of its own.
  const std::string v1 = read_file(test::data_path("golden/ingest_segment_v1.bin"));
  IngestSegmentScan scan;
  const auto got = scan_all(v1, &scan);
  REQUIRE(got.size() == 3);
  CHECK(scan.version == 1);
  CHECK(got[0].seq == 7);
  CHECK(got[1].kind == IngestKind::kLabel);
  CHECK(got[2].payload.find("Zürich") != std::string::npos);
  CHECK_FALSE(scan.damaged);
  // A well-formed header of version 3 (its checksum recomputed).
  std::string h = encode_ingest_segment_header(1).substr(0, 24);
  h[8] = 3;
  const uint64_t sum = XXH3_64bits(h.data(), h.size());
  h.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  auto other = scan_ingest_segment(h, "seg", nullptr);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().message ==
        "seg: ingest log format version 3, this driftd reads versions 1 and 2");
  // A patched version without a new checksum is corruption.
  std::string patched = encode_ingest_segment_header(1);
  patched[8] = 3;
  auto corrupt = scan_ingest_segment(patched, "seg", nullptr);
  REQUIRE_FALSE(corrupt.ok());
  CHECK(corrupt.error().message.find("checksum") != std::string::npos);
}

TEST_CASE("ingest log on disk: a version 1 log is continued in a new segment", "[ingest]") {
  const auto dir = test::temp_dir("ingest-v1").string();
  std::filesystem::copy_file(test::data_path("golden/ingest_segment_v1.bin"),
                             dir + "/ingest-00000000000000000007.log");
  {
    auto log = IngestLog::open(dir, 1 << 20);
    REQUIRE(log.ok());
    CHECK((*log)->next_seq() == 10);
    CHECK((*log)->segments() == 2);  // the v1 segment stays readable, records go to a v2 one
    std::string enc;
    append_ingest_record(enc, 10, IngestKind::kPrediction, "{}", false);
    append_ingest_record(enc, 11, IngestKind::kPrediction, "{}");
    REQUIRE((*log)->append(enc, 2).ok());
  }
  auto log = IngestLog::open(dir, 1 << 20);
  REQUIRE(log.ok());
  std::vector<uint64_t> seqs;
  REQUIRE((*log)->replay(7, [&](const IngestRecord& r) { seqs.push_back(r.seq); }).ok());
  CHECK(seqs == std::vector<uint64_t>{7, 8, 9, 10, 11});
  std::filesystem::remove_all(dir);
}

TEST_CASE("ingest log on disk: reopen continues, a torn tail is cut, release deletes segments",
          "[ingest]") {
  const auto dir = test::temp_dir("ingest-log").string();
  std::vector<std::string> payloads;
  for (int i = 0; i < 300; ++i) {
    payloads.push_back(R"({"model":"m","i":)" + std::to_string(i) + R"(,"pad":")" +
                       std::string(4000, 'x') + "\"}");
  }
  {
    auto log = IngestLog::open(dir, 1 << 20);
    REQUIRE(log.ok());
    CHECK((*log)->next_seq() == 1);
    for (size_t i = 0; i < payloads.size(); i += 10) {
      std::string enc;
      for (size_t j = i; j < i + 10; ++j) {
        append_ingest_record(enc, (*log)->next_seq() + (j - i), IngestKind::kPrediction,
                             payloads[j]);
      }
      REQUIRE((*log)->append(enc, 10).ok());
    }
    CHECK((*log)->next_seq() == 301);
    CHECK((*log)->segments() >= 2);  // 1.2 MB in 1 MiB segments
  }
  // A crash mid-write leaves half a record at the end.
  std::string last;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().string() > last) last = e.path().string();
  }
  { std::ofstream(last, std::ios::binary | std::ios::app) << std::string("\x10\x00\x00", 3); }
  auto log = IngestLog::open(dir, 1 << 20);
  REQUIRE(log.ok());
  CHECK((*log)->next_seq() == 301);
  std::vector<std::string> replayed;
  REQUIRE((*log)
              ->replay(101,
                       [&](const IngestRecord& r) {
                         CHECK(r.seq == 101 + replayed.size());
                         replayed.emplace_back(r.payload);
                       })
              .ok());
  CHECK(replayed == std::vector<std::string>(payloads.begin() + 100, payloads.end()));
  // Appends continue after the cut tail.
  std::string enc;
  append_ingest_record(enc, 301, IngestKind::kLabel, R"({"model":"m","label":1})");
  REQUIRE((*log)->append(enc, 1).ok());
  const size_t before = (*log)->segments();
  // Records 1..~260 fill the first 1 MiB segment: released below 280, it goes.
  REQUIRE((*log)->release_before(280).ok());
  CHECK((*log)->segments() == before - 1);
  CHECK((*log)->first_seq() > 1);
  CHECK((*log)->first_seq() <= 280);
  size_t count = 0;
  REQUIRE((*log)->replay(280, [&](const IngestRecord&) { ++count; }).ok());
  CHECK(count == 22);
  // Everything applied: the active segment rolls and every older one goes.
  REQUIRE((*log)->release_before(302).ok());
  CHECK((*log)->segments() == 1);
  CHECK((*log)->first_seq() == 302);
  auto reopened = IngestLog::open(dir, 1 << 20);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->next_seq() == 302);
  std::filesystem::remove_all(dir);

  // A log whose files were lost while the checkpoint (at 1000) stayed:
  // numbering continues after what the checkpoint applied.
  auto fresh = IngestLog::open(dir, 1 << 20);
  REQUIRE(fresh.ok());
  REQUIRE((*fresh)->continue_at(1000).ok());
  REQUIRE((*fresh)->continue_at(5).ok());  // behind: nothing changes
  CHECK((*fresh)->next_seq() == 1000);
  CHECK((*fresh)->first_seq() == 1000);
  CHECK((*fresh)->segments() == 1);
  std::string rec;
  append_ingest_record(rec, 1000, IngestKind::kPrediction, R"({"model":"m"})");
  REQUIRE((*fresh)->append(rec, 1).ok());
  fresh->reset();
  auto again = IngestLog::open(dir, 1 << 20);
  REQUIRE(again.ok());
  CHECK((*again)->next_seq() == 1001);
  size_t seen = 0;
  REQUIRE((*again)
              ->replay(1000,
                       [&](const IngestRecord& r) {
                         CHECK(r.seq == 1000);
                         ++seen;
                       })
              .ok());
  CHECK(seen == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("sizes in the configuration", "[ingest]") {
  CHECK(*parse_size_bytes("8MiB") == 8u << 20);
  CHECK(*parse_size_bytes("512KiB") == 512u << 10);
  CHECK(*parse_size_bytes("1GB") == 1000000000u);
  CHECK(*parse_size_bytes("1000") == 1000u);
  CHECK_FALSE(parse_size_bytes("8 MiB").ok());
  CHECK_FALSE(parse_size_bytes("lots").ok());
  CHECK_FALSE(parse_size_bytes("99999999999GiB").ok());
}

SourceConfig http_config(bool durable, uint64_t queue_bytes = 1 << 20) {
  SourceConfig c;
  c.name = "http";
  c.type = "http";
  HttpSourceOptions o;
  o.durable = durable;
  o.max_body_bytes = 64 << 10;
  o.queue_bytes = queue_bytes;
  c.options = std::make_shared<HttpSourceOptions>(std::move(o));
  return c;
}

std::shared_ptr<const Router> models() {
  auto m = std::make_shared<Router>();
  ModelRoute route;  // time windows; no future bound (the tests' times are small)
  m->add("fraud", "3", route);
  m->add("churn", "1", route);
  m->add("churn", "2", route);
  return m;
}

// handle() pads the body it is given in place.
IngestReply handle(IngestHandler& h, IngestKind kind, std::string body) {
  return h.handle(kind, body);
}

std::vector<std::string> taken_lines(IngestQueue& q, std::vector<std::string>* refused = nullptr) {
  IngestBatch b;
  std::vector<std::string> out;
  if (!q.take(b)) return out;
  for (const auto& e : b.entries) {
    std::string line(b.bytes.data() + e.offset, e.len);
    if (e.reason == RejectReason::kNone) {
      out.push_back(line);
    } else if (refused) {
      refused->push_back(std::string(to_string(e.reason)) + ": " +
                         std::string(b.bytes.data() + e.detail_offset, e.detail_len));
    }
  }
  return out;
}

TEST_CASE("ingest requests: NDJSON, arrays, one object, refusals name the line", "[ingest]") {
  IngestQueue q(http_config(false));
  q.set_routes(models());
  q.start(nullptr);
  IngestHandler h(q);
  const std::string good1 = R"({"model":"fraud","ts":1,"features":{"a":1}})";
  const std::string good2 = R"({"model":"churn","model_version":2,"ts":2,"features":{}})";

  SECTION("NDJSON with bad lines: the good ones are accepted") {
    const std::string body = good1 + "\n" + "{not json\n" + "\n" + R"([1,2])" + "\n" +
                             R"({"model":"nobody","ts":1})" + "\n" + R"({"ts":1})" + "\r\n" +
                             R"({"model":"churn","ts":1})" + "\n" + good2 + "\n";
    const IngestReply r = handle(h, IngestKind::kPrediction, body);
    CHECK(r.status == 400);
    CHECK(r.body.find(R"("accepted":2)") != std::string::npos);
    CHECK(r.body.find(R"("rejected":5)") != std::string::npos);
    CHECK(r.body.find(R"({"line":2,"reason":"invalid JSON)") != std::string::npos);
    CHECK(r.body.find(R"({"line":4,"reason":"an event must be a JSON object"})") !=
          std::string::npos);
    CHECK(r.body.find("no monitored model 'nobody'") != std::string::npos);
    CHECK(r.body.find(R"({"line":6,"reason":"no \"model\" field"})") != std::string::npos);
    CHECK(r.body.find("several versions") != std::string::npos);
    std::vector<std::string> refused;
    CHECK(taken_lines(q, &refused) == std::vector<std::string>{good1, good2});
    REQUIRE(refused.size() == 5);
    CHECK(refused[0].rfind("invalid_json: ", 0) == 0);
    CHECK(refused[1].rfind("not_an_object: ", 0) == 0);
    CHECK(refused[2].rfind("unknown_model: ", 0) == 0);
    CHECK(refused[3].rfind("missing_model: ", 0) == 0);
    CHECK(refused[4].rfind("unknown_model: ", 0) == 0);
  }
  SECTION("all good: 202 with the count") {
    const IngestReply r = handle(h, IngestKind::kPrediction, good1 + "\n" + good2);
    CHECK(r.status == 202);
    CHECK(r.body == "{\"accepted\":2}\n");
    CHECK(taken_lines(q).size() == 2);
  }
  SECTION("a JSON array: each element checked, minified") {
    const IngestReply r =
        handle(h, IngestKind::kPrediction, "[" + good1 + ",\n  " + good2 + ", 7]");
    CHECK(r.status == 400);
    CHECK(r.body.find(R"({"line":3,"reason":"an event must be a JSON object"})") !=
          std::string::npos);
    CHECK(taken_lines(q) == std::vector<std::string>{good1, good2});
  }
  SECTION("a broken array is refused whole") {
    const IngestReply r = handle(h, IngestKind::kPrediction, "[" + good1 + ",");
    CHECK(r.status == 400);
    CHECK(r.body.find(R"("accepted":0)") != std::string::npos);
    std::vector<std::string> refused;
    CHECK(taken_lines(q, &refused).empty());
    CHECK(refused.size() == 1);
  }
  SECTION("one pretty-printed object") {
    const IngestReply r =
        handle(h, IngestKind::kPrediction,
               "{\n  \"model\": \"fraud\",\n  \"ts\": 1,\n  \"features\": {}\n}\n");
    CHECK(r.status == 202);
    CHECK(taken_lines(q) == std::vector<std::string>{R"({"model":"fraud","ts":1,"features":{}})"});
  }
  SECTION("an empty body") {
    CHECK(handle(h, IngestKind::kPrediction, " \n ").status == 400);
  }
  SECTION("the label endpoint takes label events only") {
    const std::string label = R"({"model":"fraud","id":"r1","label":1,"ts":5})";
    const IngestReply r = handle(h, IngestKind::kLabel, label + "\n" + good1);
    CHECK(r.status == 400);
    CHECK(
        r.body.find(
            R"("line":2,"reason":"/v1/labels takes label events: \"label\" and no \"features\"")") !=
        std::string::npos);
    IngestBatch b;
    REQUIRE(q.take(b));
    REQUIRE(b.entries.size() == 2);
    CHECK(b.entries[0].kind == IngestKind::kLabel);
    CHECK(b.entries[0].reason == RejectReason::kNone);
    CHECK(b.entries[1].reason == RejectReason::kBadLabel);
  }
}

TEST_CASE("ingest queue: a full queue refuses whole requests with 429", "[ingest]") {
  IngestQueue q(http_config(false, 4096));
  q.set_routes(models());
  q.start(nullptr);
  IngestHandler h(q);
  std::string body;
  for (int i = 0; i < 100; ++i)
    body += R"({"model":"fraud","ts":1,"features":{"a":1}})"
            "\n";
  CHECK(handle(h, IngestKind::kPrediction, body).status == 202);  // an empty queue takes it
  const IngestReply full = handle(h, IngestKind::kPrediction, body);
  CHECK(full.status == 429);
  CHECK(full.retry_after);
  CHECK(full.body.find("queue_bytes = 4096") != std::string::npos);
  CHECK(taken_lines(q).size() == 100);  // the refused request left nothing
  CHECK(handle(h, IngestKind::kPrediction, body).status == 202);  // drained: taken again
  CHECK(q.stats().throttled == 1);
  q.close();
  CHECK(handle(h, IngestKind::kPrediction, body).status == 503);
}

TEST_CASE("durable ingest: answered after the log has it, replayed from the log", "[ingest]") {
  const auto dir = test::temp_dir("ingest-durable").string();
  const std::string ev = R"({"model":"fraud","ts":1,"features":{"a":1}})";
  {
    IngestQueue q(http_config(true));
    q.set_routes(models());
    auto log = IngestLog::open(dir, 1 << 20);
    REQUIRE(log.ok());
    q.start(std::move(*log));
    IngestHandler h(q);
    CHECK(handle(h, IngestKind::kPrediction, ev + "\n" + ev + "\nbad\n").status == 400);
    CHECK(handle(h, IngestKind::kPrediction, ev).status == 202);
    // On disk before the answer: the segment holds all three records.
    std::string segment;
    for (const auto& e : std::filesystem::directory_iterator(dir)) segment = read_file(e.path());
    IngestSegmentScan scan;
    CHECK(scan_all(segment, &scan).size() == 3);
    CHECK(scan.end_seq == 4);
    IngestBatch b;
    REQUIRE(q.take(b));
    std::vector<uint64_t> seqs;
    for (const auto& e : b.entries) seqs.push_back(e.seq);
    // Refused lines carry no sequence number and never reach the log.
    CHECK(seqs == std::vector<uint64_t>{1, 2, 0, 3});
    CHECK(q.stats().log_fsyncs >= 1);
    q.close();
  }
  auto log = IngestLog::open(dir, 1 << 20);
  REQUIRE(log.ok());
  size_t n = 0;
  REQUIRE((*log)
              ->replay(2,
                       [&](const IngestRecord& r) {
                         CHECK(r.payload == ev);
                         ++n;
                       })
              .ok());
  CHECK(n == 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace driftd
