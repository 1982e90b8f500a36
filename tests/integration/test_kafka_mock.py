"""tests/integration/test_kafka_mock.py - one receiver and three store nodes on
librdkafka's mock cluster (three brokers on loopback, in the mock_kafka
helper): kill -9 a store node mid-ingest, every acknowledged trace stays whole
(kafka_cluster.py says how)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_cluster  # noqa: E402
from harness import wait_for  # noqa: E402


def main():
    mock = os.environ.get("MOCK_KAFKA")
    if not mock or not os.environ.get("LOADGEN"):
        print("SKIP: mock_kafka or loadgen not built")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="ottr-kafka-")
    addr = os.path.join(tmp, "brokers")
    p = subprocess.Popen([mock, "3", "otlp_spans", "6", addr])
    try:
        wait_for(lambda: os.path.exists(addr), what="mock cluster")
        kafka_cluster.run(open(addr).read().strip(), "otlp_spans")
    finally:
        p.terminate()
        p.wait(timeout=30)


if __name__ == "__main__":
    main()
