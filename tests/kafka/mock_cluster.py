"""librdkafka's mock cluster (tests/kafka/mock_kafka.cc), a real Kafka
protocol peer over TCP on 127.0.0.1, for the tests that need Kafka: started
with its topics, fed with kcat, its brokers taken down and up, stopped."""
import subprocess


class MockCluster:
    """Starts mock_kafka with topics ({name: partitions}); stop() ends it."""

    def __init__(self, binary, topics):
        args = [binary]
        for name, partitions in topics.items():
            args += ["--topic", f"{name}:{partitions}"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("bootstrap="):
            raise RuntimeError(f"mock_kafka did not start: {line!r}")
        self.bootstrap = line[len("bootstrap="):]

    def produce(self, topic, path, partition=None):
        """One message per line of path (to one partition, or spread by the
        partitioner). zstd batches: the mock cluster keeps only the last
        ~5 MB of stored batches per partition."""
        where = ["-p", str(partition)] if partition is not None else []
        subprocess.run(["kcat", "-P", "-q", "-z", "zstd", "-b", self.bootstrap, "-t", topic,
                        *where, "-l", path], check=True, timeout=300)

    def brokers(self, state):
        """Every broker "down" (connections cut and refused) or "up" again."""
        self.proc.stdin.write(state + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok " + state:
            raise RuntimeError(f"mock_kafka {state}: {answer!r}")

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
