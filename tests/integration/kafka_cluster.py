"""tests/integration/kafka_cluster.py - Ottr nodes on Kafka: one receiver and
three store nodes; a store node is killed with SIGKILL mid-ingest and started
again; every acknowledged trace must then be readable with exactly its spans,
each span once, from the node that owns it.

Used by test_kafka_mock.py (librdkafka's mock cluster) and test_kafka_broker.py
(a real Apache Kafka broker in KRaft mode): `run(brokers, topic)`."""
import http.client
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402
from test_crash_kill9 import count_lines, fetch_span_ids, read_ids  # noqa: E402


def metric(node, name):
    status, body = node.get(node.admin_port, "/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def run(brokers, topic, group="ottr-test"):
    config = ("kafka:\n  brokers: %s\n  topic: %s\n  group: %s\n"
              "  session_timeout: 6s\n  commit_interval: 200ms\n  produce_timeout: 5s\n"
              "sampling:\n  decision_wait: 2s\n  decision_wait_after_root: 300ms\n"
              % (brokers, topic, group))
    nodes = []

    def node(role, extra=""):
        d = Ottrd("--role", role)
        nodes.append(d)
        cfg = os.path.join(d.tmp, "ottr.yaml")
        with open(cfg, "w") as f:
            f.write(config + extra)
        d.args += ["--config", cfg]
        return d.start()

    try:
        stores = [node("store") for _ in range(3)]
        # The receiver also answers queries for the whole cluster.
        recv = node("receiver", "query:\n  peers: %s\njaeger:\n  peers: %s\n" % (
            ",".join("127.0.0.1:%d" % s.query_port for s in stores),
            ",".join("127.0.0.1:%d" % s.jaeger_port for s in stores)))
        # Every partition has an owner before the load starts.
        wait_for(lambda: sum(metric(s, "ottr_kafka_rebalances_total") for s in stores) >= 3,
                 timeout=30, what="partitions assigned")

        ids_file = os.path.join(recv.tmp, "acked.txt")
        lg = subprocess.Popen(
            [os.environ["LOADGEN"], "--protocol", "grpc",
             "--target", "127.0.0.1:%d" % recv.grpc_port, "--duration", "8",
             "--workers", "2", "--inflight", "4", "--traces-per-request", "4",
             "--spans-per-trace", "5", "--rate", "4000", "--ids-file", ids_file, "--seed", "7"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: count_lines(ids_file) > 200, timeout=30, what="acknowledged traces")
        victim = stores[1]
        victim.kill9()
        t_kill = time.monotonic()
        lg.wait(timeout=60)
        acked = read_ids(ids_file)
        assert len(acked) > 300, "too few acknowledged traces: %d" % len(acked)
        # The survivors take the victim's partitions after its session times
        # out and read them from its last commit; the victim comes back on its
        # data (what it had stored and committed) and query port.
        victim.args += ["--query-addr", "127.0.0.1:%d" % victim.query_port,
                        "--jaeger-addr", "127.0.0.1:%d" % victim.jaeger_port]
        victim.start()

        # Every acknowledged trace through the receiver's query port: the
        # most complete copy among the store nodes, each span once.
        conn = http.client.HTTPConnection("127.0.0.1", recv.query_port, timeout=30)
        missing = dict(acked)
        deadline = time.monotonic() + 60
        while missing and time.monotonic() < deadline:
            for tid in list(missing):
                ids = fetch_span_ids(conn, tid)
                if ids is None:
                    continue
                assert len(ids) == len(set(ids)), "trace %s has duplicate spans" % tid
                assert len(ids) <= missing[tid], "trace %s: %d spans, %d acknowledged" % (
                    tid, len(ids), missing[tid])
                if len(ids) == missing[tid]:
                    del missing[tid]
            if missing:
                time.sleep(0.3)
        assert not missing, "%d of %d acknowledged traces lost or incomplete, e.g. %s" % (
            len(missing), len(acked), list(missing.items())[:3])
        # A search through the receiver merges the store nodes' answers.
        status, body = recv.get(recv.query_port, "/api/search?limit=50")
        assert status == 200 and len(json.loads(body)["traces"]) == 50, body[:300]
        # The Jaeger API of the receiver too: traces whole, services of every node.
        for tid in list(acked)[:50]:
            status, body = recv.get(recv.jaeger_port, "/api/traces/" + tid)
            assert status == 200, (tid, status, body[:200])
            assert len(json.loads(body)["data"][0]["spans"]) == acked[tid], tid
        status, body = recv.get(recv.jaeger_port, "/api/services")
        assert status == 200 and len(json.loads(body)["data"]) >= 3, body[:300]
        print("PASS: %d acknowledged traces over 3 store nodes, one killed with SIGKILL; "
              "all whole through any node, no span twice (%.1fs after the kill)"
              % (len(acked), time.monotonic() - t_kill))
        for d in reversed(nodes):
            d.stop()
    except BaseException:
        for d in nodes:
            d.dump_log()
        raise
    finally:
        for d in nodes:
            d.cleanup()
