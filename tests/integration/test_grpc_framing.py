"""tests/integration/test_grpc_framing.py - gRPC framing edge cases sent as
hand-made HTTP/2 requests with the nghttp client: on the gRPC port a message
with the Compressed-Flag set and no grpc-encoding, and an Export call with two
request messages, fail with INTERNAL and store nothing, while a sound call goes
through; on the OTLP/HTTP port (h2c) a gRPC request gets a gRPC answer
(UNIMPLEMENTED, naming the gRPC port) rather than an HTTP error."""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
SKIP = 77


def field(num, wire, payload):
    key = bytes([num << 3 | wire])
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def export_request(trace_hex, start_ns):
    """ExportTraceServiceRequest with one span of service "framing"."""
    svc = field(1, 2, b"service.name") + field(2, 2, field(1, 2, b"framing"))
    resource = field(1, 2, svc)
    span = (field(1, 2, bytes.fromhex(trace_hex)) + field(2, 2, bytes.fromhex("0102030405060708"))
            + field(5, 2, b"op") + field(7, 1, struct.pack("<Q", start_ns))
            + field(8, 1, struct.pack("<Q", start_ns + 1000000)))
    scope_spans = field(2, 2, span)
    return field(1, 2, field(1, 2, resource) + field(2, 2, scope_spans))


def frame(msg, compressed=0):
    return struct.pack(">BI", compressed, len(msg)) + msg


def h2(port, path, body, tmp, headers=()):
    """POSTs |body| over h2c (prior knowledge); returns the response header fields."""
    data = os.path.join(tmp, "body")
    with open(data, "wb") as f:
        f.write(body)
    cmd = ["nghttp", "-v", "-t", "10", "-d", data, "-H", "content-type: application/grpc",
           "-H", "te: trailers"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + ["http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, timeout=30).stdout
    fields = {}
    for m in re.finditer(r"recv \(stream_id=\d+\) ([a-z:-]+): (.*)", out):
        fields[m.group(1)] = m.group(2)
    return fields


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    if shutil.which("nghttp") is None:
        print("skipped: the nghttp client (nghttp2-client) is not installed")
        sys.exit(SKIP)
    tmp = tempfile.mkdtemp(prefix="ottr-framing-")
    cfg = os.path.join(tmp, "ottr.yaml")
    with open(cfg, "w") as f:
        f.write("sampling:\n  decision_wait: 1s\n  decision_wait_after_root: 100ms\n")
    try:
        with Ottrd("--config", cfg) as d:
            now = time.time_ns()
            flagged = "f1" * 16
            twice = "f2" * 16
            sound = "f3" * 16

            r = h2(d.grpc_port, EXPORT, frame(export_request(flagged, now), compressed=1), tmp)
            check(r.get("grpc-status") == "13" and "Compressed-Flag" in r.get("grpc-message", ""),
                  "compressed flag without grpc-encoding: INTERNAL: %r" % r)
            r = h2(d.grpc_port, EXPORT, frame(export_request(flagged, now), compressed=1), tmp,
                   ["grpc-encoding: identity"])
            check(r.get("grpc-status") == "13", "flag with grpc-encoding identity: %r" % r)
            msg = export_request(twice, now)
            r = h2(d.grpc_port, EXPORT, frame(msg) + frame(msg), tmp)
            check(r.get("grpc-status") == "13" and "more than one" in r.get("grpc-message", ""),
                  "two messages on a unary call: INTERNAL: %r" % r)
            r = h2(d.grpc_port, EXPORT, frame(export_request(sound, now)), tmp)
            check(r.get("grpc-status") == "0", "one plain message: OK: %r" % r)

            # OTLP/gRPC on the h2c OTLP/HTTP port: a gRPC answer, nothing taken.
            r = h2(d.http_port, EXPORT, frame(export_request(flagged, now)), tmp)
            check(r.get(":status") == "200" and r.get("grpc-status") == "12"
                  and "gRPC port" in r.get("grpc-message", ""),
                  "gRPC on the HTTP port: UNIMPLEMENTED naming the gRPC port: %r" % r)

            wait_for(lambda: d.get(d.query_port, "/api/v2/traces/" + sound)[0] == 200,
                     timeout=30, what="the sound trace to be stored")
            for t in (flagged, twice):
                code, _ = d.get(d.query_port, "/api/v2/traces/" + t)
                check(code == 404, "refused trace %s not stored: %d" % (t, code))
            _, metrics = d.get(d.query_port, "/metrics")
            check(b'ottr_receiver_requests_total{protocol="grpc",code="INTERNAL"} 3' in metrics,
                  "INTERNAL counted three times")
            check(b'ottr_receiver_bad_requests_total{protocol="http",reason="content_type"} 1'
                  in metrics, "gRPC on the HTTP port counted")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
