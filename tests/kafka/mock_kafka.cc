// A Kafka cluster for the integration tests: librdkafka's mock cluster,
// which speaks the real Kafka protocol over TCP on 127.0.0.1 (produce,
// fetch, metadata, consumer groups, offset commits). No broker is packaged
// for Debian, so this is the peer that driftd and kcat both talk to.
//
//   mock_kafka [--brokers N] [--topic NAME:PARTITIONS]...
//
// Prints "bootstrap=HOST:PORT[,...]" on one line of stdout once it listens,
// then serves until stdin reaches EOF or SIGTERM/SIGINT arrives. Lines on
// stdin take every broker down ("down": connections are cut and refused,
// as when the brokers stop) and up again ("up"); each is answered with
// "ok down" / "ok up" on stdout once done.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
  g_stop.store(true);
}

int usage(const char* why) {
  std::fprintf(stderr,
               "mock_kafka: %s\nusage: mock_kafka [--brokers N] [--topic NAME:PARTITIONS]...\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
      if (brokers < 1) return usage("--brokers must be at least 1");
    } else if (arg == "--topic" && i + 1 < argc) {
      const std::string spec = argv[++i];
      const size_t colon = spec.rfind(':');
      const int partitions = colon == std::string::npos ? 1 : std::atoi(spec.c_str() + colon + 1);
      if (partitions < 1) return usage("a topic needs at least one partition (NAME:PARTITIONS)");
      topics.emplace_back(spec.substr(0, colon), partitions);
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }

  // The mock cluster lives inside a client handle; a producer that never
  // produces is the lightest host.
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (host == nullptr) return usage(err);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(host);
    return usage("rd_kafka_mock_cluster_new failed");
  }
  for (const auto& [name, partitions] : topics) {
    const rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, std::min(brokers, 3));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "mock_kafka: cannot create topic %s: %s\n", name.c_str(),
                   rd_kafka_err2str(e));
      return 1;
    }
  }
  std::printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  std::string commands;
  while (!g_stop.load()) {
    pollfd in{0, POLLIN, 0};
    if (::poll(&in, 1, 200) > 0) {
      char buf[256];
      const ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) break;  // the test closed our stdin
      commands.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = commands.find('\n')) != std::string::npos; commands.erase(0, nl + 1)) {
        const std::string cmd = commands.substr(0, nl);
        if (cmd.empty()) continue;
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (cmd == "down") {
          e = rd_kafka_mock_broker_set_down(cluster, -1);
        } else if (cmd == "up") {
          e = rd_kafka_mock_broker_set_up(cluster, -1);
        } else {
          std::printf("error unknown command %s\n", cmd.c_str());
          std::fflush(stdout);
          continue;
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
          std::printf("error %s\n", rd_kafka_err2str(e));
        } else {
          std::printf("ok %s\n", cmd.c_str());
        }
        std::fflush(stdout);
      }
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
  return 0;
}
