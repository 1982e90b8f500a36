"""tests/integration/test_kafka_broker.py - one receiver and three store nodes on
a real Apache Kafka broker (KRaft, one node as broker and controller, run from
the jars scripts/bootstrap --test copies into tests/integration/kafka/lib with
the machine's Java 17): kill -9 a store node mid-ingest, every acknowledged
trace stays whole (kafka_cluster.py says how). Skipped (77) without the jars
or Java."""
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_cluster  # noqa: E402
from harness import wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "kafka", "lib")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_connect(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def main():
    java = shutil.which("java")
    if not java or not os.path.isdir(LIB) or not os.environ.get("LOADGEN"):
        print("SKIP: no Kafka jars (scripts/bootstrap --test), java or loadgen")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="ottr-kafka-broker-")
    bport = free_port()
    cport = free_port()
    while cport == bport:
        cport = free_port()
    props = os.path.join(tmp, "server.properties")
    with open(props, "w") as f:
        f.write("process.roles=broker,controller\nnode.id=1\n"
                "controller.quorum.voters=1@127.0.0.1:%d\n"
                "listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d\n"
                "advertised.listeners=PLAINTEXT://127.0.0.1:%d\n"
                "controller.listener.names=CONTROLLER\ninter.broker.listener.name=PLAINTEXT\n"
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
                "log.dirs=%s\nnum.partitions=6\nauto.create.topics.enable=true\n"
                "offsets.topic.replication.factor=1\noffsets.topic.num.partitions=4\n"
                "transaction.state.log.replication.factor=1\ntransaction.state.log.min.isr=1\n"
                "group.initial.rebalance.delay.ms=0\n"
                % (cport, bport, cport, bport, os.path.join(tmp, "kraft")))
    jvm = [java, "-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           "-Dlog4j.configuration=file:/dev/null", "-cp", os.path.join(LIB, "*")]
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    log = open(os.path.join(tmp, "kafka.log"), "wb")
    broker = None
    try:
        # Inside the try: a failed format shows the broker's log too.
        subprocess.run(jvm + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c",
                              props], check=True, stdout=log, stderr=log)
        broker = subprocess.Popen(jvm + ["kafka.Kafka", props], stdout=log, stderr=log)
        wait_for(lambda: can_connect(bport), timeout=60, what="the Kafka broker")
        kafka_cluster.run("127.0.0.1:%d" % bport, "otlp_spans")
    except BaseException:
        log.flush()
        sys.stderr.write(open(os.path.join(tmp, "kafka.log"), errors="replace").read()[-3000:])
        raise
    finally:
        if broker is not None:
            broker.terminate()
            try:
                broker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                broker.kill()
            broker.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
