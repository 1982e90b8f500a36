"""tests/integration/test_input_limits.py - the limits.* input limits seen by an
exporter of the real ottrd, over OTLP/HTTP (JSON) and OTLP/gRPC (grpcio from the
test SDK venv): a span over limits.max_attributes_per_span comes back as a
partial success naming the span and the limit while the rest of the request is
stored, the rejected span is not; a request over limits.max_spans_per_request is
refused whole (HTTP 413 with a google.rpc.Status body, gRPC RESOURCE_EXHAUSTED);
/metrics counts both by reason."""
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_PY = os.path.join(HERE, "sdk", ".venv", "bin", "python")
CONFIG = """\
limits:
  max_spans_per_request: 4
  max_attributes_per_span: 2
sampling:
  decision_wait: 2s
  decision_wait_after_root: 200ms
"""

HTTP_OK_TRACE = "a1" * 16
HTTP_BAD_TRACE = "b1" * 16
GRPC_OK_TRACE = "c1" * 16
GRPC_BAD_TRACE = "d1" * 16

# Sends two gRPC exports through grpcio and prints what came back as JSON: one of
# a good span of trace argv[2] and a span of argv[3] with 3 attributes, one of 5 spans.
GRPC_CLIENT = r"""
import json, sys, grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as tsg
from opentelemetry.proto.common.v1 import common_pb2 as common
from opentelemetry.proto.trace.v1 import trace_pb2

def span(trace, sid, nattrs):
    s = trace_pb2.Span(
        trace_id=bytes.fromhex(trace), span_id=bytes.fromhex(sid), name="op",
        start_time_unix_nano=1700000000000000000, end_time_unix_nano=1700000000001000000)
    for i in range(nattrs):
        s.attributes.append(common.KeyValue(key="k%d" % i,
                                            value=common.AnyValue(int_value=i)))
    return s

def request(spans):
    r = ts.ExportTraceServiceRequest()
    rs = r.resource_spans.add()
    rs.resource.attributes.append(common.KeyValue(
        key="service.name", value=common.AnyValue(string_value="limits-grpc")))
    rs.scope_spans.add().spans.extend(spans)
    return r

out = {}
with grpc.insecure_channel(sys.argv[1]) as ch:
    stub = tsg.TraceServiceStub(ch)
    resp = stub.Export(request([span(sys.argv[2], "c2" * 8, 1),
                                span(sys.argv[3], "d2" * 8, 3)]), timeout=10)
    out["rejected"] = resp.partial_success.rejected_spans
    out["message"] = resp.partial_success.error_message
    try:
        stub.Export(request([span(sys.argv[2], "e%d" % i * 8, 0) for i in range(5)]),
                    timeout=10)
        out["big"] = "OK"
    except grpc.RpcError as e:
        out["big"] = e.code().name
        out["big_details"] = e.details()
print(json.dumps(out))
"""


def span_json(trace, sid, nattrs):
    return {"traceId": trace, "spanId": sid, "name": "op",
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000001000000",
            "attributes": [{"key": "k%d" % i, "value": {"intValue": str(i)}}
                           for i in range(nattrs)]}


def post_json(port, spans):
    body = json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "limits-http"}}]},
        "scopeSpans": [{"spans": spans}]}]}).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/v1/traces" % port, data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def metric(text, name, labels):
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0.0


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    if not os.path.exists(VENV_PY):
        sys.stderr.write("FAIL: %s is missing: run scripts/bootstrap --test\n" % VENV_PY)
        return 1
    d = Ottrd().with_config(CONFIG)
    with d:
        # HTTP: the span of 3 attributes is rejected, its neighbours are taken.
        status, body = post_json(d.http_port, [
            span_json(HTTP_OK_TRACE, "a2" * 8, 2),
            span_json(HTTP_BAD_TRACE, "b2" * 8, 3),
            span_json(HTTP_OK_TRACE, "a3" * 8, 0)])
        check(status == 200, "http partial: status %d %r" % (status, body))
        ps = body.get("partialSuccess", {})
        check(ps.get("rejectedSpans") == "1", "http partial: %r" % body)
        want = ("1 span rejected; first: resource_spans[0].scope_spans[0].spans[1] "
                "(span %s): 3 attributes, limit 2 (limits.max_attributes_per_span)"
                % ("b2" * 8))
        check(ps.get("errorMessage") == want, "http partial: %r" % body)

        # HTTP: 5 spans, over max_spans_per_request: refused whole.
        status, body = post_json(d.http_port,
                                 [span_json(HTTP_OK_TRACE, "f%d" % i * 8, 0) for i in range(5)])
        check(status == 413, "http too many spans: status %d %r" % (status, body))
        check(body.get("code") == 8 and "limits.max_spans_per_request" in body.get("message", ""),
              "http too many spans: %r" % body)

        # gRPC: the same through grpcio.
        out = subprocess.run([VENV_PY, "-c", GRPC_CLIENT, "127.0.0.1:%d" % d.grpc_port,
                              GRPC_OK_TRACE, GRPC_BAD_TRACE],
                             capture_output=True, text=True, timeout=60)
        check(out.returncode == 0, "grpc client failed: %s" % out.stderr[-2000:])
        g = json.loads(out.stdout)
        check(g["rejected"] == 1, "grpc partial: %r" % g)
        check(g["message"] == ("1 span rejected; first: resource_spans[0].scope_spans[0].spans[1] "
                               "(span %s): 3 attributes, limit 2 "
                               "(limits.max_attributes_per_span)" % ("d2" * 8)),
              "grpc partial: %r" % g)
        check(g["big"] == "RESOURCE_EXHAUSTED" and
              "request has 5 spans, limit 4 (limits.max_spans_per_request)" in g["big_details"],
              "grpc too many spans: %r" % g)

        # What was taken is stored; the rejected spans are not.
        for t, n in ((HTTP_OK_TRACE, 2), (GRPC_OK_TRACE, 1)):
            got = wait_for(lambda: d.get(d.query_port, "/api/traces/" + t)[0] == 200 and
                           d.get(d.query_port, "/api/traces/" + t)[1], timeout=20,
                           what="trace %s stored" % t)
            doc = json.loads(got)
            spans = sum(len(ss.get("spans", []))
                        for b in doc.get("batches", doc.get("resourceSpans", []))
                        for ss in b.get("scopeSpans", []))
            check(spans == n, "trace %s has %d spans, want %d" % (t, spans, n))
        for t in (HTTP_BAD_TRACE, GRPC_BAD_TRACE):
            status, _ = d.get(d.query_port, "/api/traces/" + t)
            check(status == 404, "rejected trace %s: status %d" % (t, status))

        _, text = d.get(d.query_port, "/metrics")
        text = text.decode()
        for proto in ("http", "grpc"):
            name = "ottr_receiver_spans_rejected_total"
            got = metric(text, name, 'protocol="%s",reason="max_attributes_per_span"' % proto)
            check(got == 1, "%s %s max_attributes_per_span = %g" % (name, proto, got))
            got = metric(text, name, 'protocol="%s",reason="max_spans_per_request"' % proto)
            check(got == 5, "%s %s max_spans_per_request = %g" % (name, proto, got))
            got = metric(text, "ottr_receiver_spans_total",
                         'protocol="%s",result="rejected"' % proto)
            check(got == 6, "ottr_receiver_spans_total %s rejected = %g" % (proto, got))
    print("PASS: input limits over HTTP and gRPC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
