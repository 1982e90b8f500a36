"""tests/integration/test_zipkin.py - Zipkin on ottrd's Zipkin port.

Real clients (the OpenTelemetry Python Zipkin exporters, JSON and protobuf; the
OpenTelemetry JavaScript Zipkin exporter; py_zipkin, a Zipkin-native client) each
send a known trace; it must come back field by field through Zipkin's API
(GET /api/v2/trace/{id}) and through the Tempo API (OTLP JSON). Then every query
endpoint is checked against the shapes of zipkin2-api.yaml (status codes, field
names and types, lower-hex IDs, microsecond times), and malformed bodies must be
answered 400 with Zipkin's error text and counted.

Needs node and the clients that `scripts/bootstrap --test` installs into
tests/integration/sdk/ (node_modules, .venv-zipkin); fails, never skips, without them."""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.join(HERE, "sdk")
VENV_PY = os.path.join(SDK, ".venv-zipkin", "bin", "python")
CONFIG = """\
limits:
  max_spans_per_request: 50
sampling:
  decision_wait: 2s
  decision_wait_after_root: 300ms
  policies:
    - name: everything
      type: always_sample
"""
HEX16 = re.compile(r"^[0-9a-f]{16}$")
HEX_TRACE = re.compile(r"^([0-9a-f]{16}|[0-9a-f]{32})$")


def die(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.exit(1)


def request(port, method, path, body=None, headers=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(port, path, want=200):
    status, headers, body = request(port, "GET", path)
    if status != want:
        die("GET %s: %d %r (want %d)" % (path, status, body[:300], want))
    if want == 200:
        if not headers.get("Content-Type", "").startswith("application/json"):
            die("GET %s: content type %r" % (path, headers.get("Content-Type")))
        return json.loads(body)
    return body


def post(port, body, ctype="application/json", extra=None):
    h = {"Content-Type": ctype}
    h.update(extra or {})
    return request(port, "POST", "/api/v2/spans", body, h)


# ---------------------------------------------------------------- round trips

def run_client(d, client, service, tmp):
    out = os.path.join(tmp, client + ".json")
    endpoint = "127.0.0.1:%d" % d.zipkin_port
    if client == "otel-js":
        cmd = ["node", os.path.join(SDK, "emit_zipkin.js"), "--endpoint", endpoint,
               "--service", service, "--out", out]
    else:
        cmd = [VENV_PY, os.path.join(SDK, "emit_zipkin.py"), "--endpoint", endpoint,
               "--client", client, "--service", service, "--out", out]
    r = subprocess.run(cmd, cwd=SDK, capture_output=True, timeout=60)
    if r.returncode != 0:
        die("%s exited %d: %s" % (client, r.returncode, r.stderr.decode()[-2000:]))
    with open(out) as f:
        return json.load(f)


def v1_to_v2(span):
    """A v1 span as Zipkin reads it: kind and local endpoint from the core
    annotations, binary annotations as tags (py_zipkin's spans are one-sided)."""
    core = {"cs": "CLIENT", "cr": "CLIENT", "sr": "SERVER", "ss": "SERVER"}
    out = {k: span[k] for k in ("traceId", "id", "parentId", "name", "timestamp", "duration")
           if k in span}
    anns = span.get("annotations", [])
    for a in anns:
        if a["value"] in core:
            out["kind"] = core[a["value"]]
            out["localEndpoint"] = a["endpoint"]
    for a in anns + span.get("binaryAnnotations", []):
        out.setdefault("localEndpoint", a.get("endpoint"))
    out["annotations"] = [{"timestamp": a["timestamp"], "value": a["value"]}
                          for a in anns if a["value"] not in core]
    out["tags"] = {b["key"]: b["value"] for b in span.get("binaryAnnotations", [])}
    return out


def normalized(span):
    """A sent span as ottrd gives it back: empty and zero fields left out, tags as
    strings, the local service not repeated as a tag, peer.service as the remote
    endpoint, the OpenTelemetry status tag next to Zipkin's error tag."""
    s = {k: v for k, v in span.items() if v not in (None, "", {}, [], 0)}
    s.pop("debug", None)
    tags = {k: str(v) for k, v in (span.get("tags") or {}).items() if v is not None}
    tags.pop("service.name", None)
    # The address attributes are Zipkin's endpoints, not repeated as tags.
    if "peer.service" in tags:
        s.setdefault("remoteEndpoint", {}).setdefault("serviceName", tags.pop("peer.service"))
    if "error" in tags:
        tags.setdefault("otel.status_code", "ERROR")
    if tags:
        s["tags"] = tags
    else:
        s.pop("tags", None)
    for ep in ("localEndpoint", "remoteEndpoint"):
        if ep in s:
            e = {k: v for k, v in s[ep].items() if v not in (None, "", 0)}
            if e:
                s[ep] = e
            else:
                del s[ep]
    if "traceId" in s and len(s["traceId"]) == 32 and s["traceId"].startswith("0" * 16):
        s["traceId"] = s["traceId"][16:]
    return s


def check_round_trip(d, client, sent):
    if client == "py-zipkin-v1":
        sent = [v1_to_v2(s) for s in sent]
    tid = sent[0]["traceId"]
    if client.startswith("py-zipkin") and len(tid) != 16:
        die("py_zipkin should send 64-bit trace IDs, sent %r" % tid)
    got = wait_for(lambda: (lambda r: r if r[0] == 200 and len(json.loads(r[2])) >= len(sent)
                            else None)(request(d.zipkin_port, "GET", "/api/v2/trace/" + tid)),
                   what="%s trace %s on the Zipkin API" % (client, tid))
    spans = json.loads(got[2])
    by_id = {s["id"]: s for s in spans}
    for want in sent:
        w = normalized(want)
        g = by_id.get(w["id"])
        if g is None:
            die("%s: span %s not returned (got %s)" % (client, w["id"], sorted(by_id)))
        for k in set(w) | set(g):
            if w.get(k) != g.get(k):
                die("%s: span %s field %s: sent %r, got %r" % (client, w["id"], k, w.get(k),
                                                              g.get(k)))
    # The same trace through the Tempo API, in OTLP terms.
    status, _, body = request(d.query_port, "GET", "/api/traces/" + tid)
    if status != 200:
        die("%s: Tempo API answered %d" % (client, status))
    otlp = {}
    for rs in json.loads(body)["batches"]:
        res = {a["key"]: a["value"] for a in rs["resource"].get("attributes", [])}
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                otlp[sp["spanId"]] = (res, sp, ss.get("scope", {}))
    kinds = {"SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
    for want in sent:
        w = normalized(want)
        if w["id"] not in otlp:
            die("%s: span %s missing from the Tempo API" % (client, w["id"]))
        res, sp, scope = otlp[w["id"]]
        svc = res.get("service.name", {}).get("stringValue")
        if svc != w["localEndpoint"]["serviceName"]:
            die("%s: Tempo service %r, sent %r" % (client, svc, w["localEndpoint"]))
        if sp["name"] != w.get("name", "") or sp.get("kind", 0) != kinds.get(w.get("kind"), 0):
            die("%s: Tempo span %r, sent %r" % (client, sp, w))
        if int(sp["startTimeUnixNano"]) != w["timestamp"] * 1000 or \
                int(sp["endTimeUnixNano"]) - int(sp["startTimeUnixNano"]) != \
                w.get("duration", 0) * 1000:
            die("%s: Tempo times %r, sent %r" % (client, sp, w))
        if sp.get("parentSpanId", "") != w.get("parentId", ""):
            die("%s: Tempo parent %r, sent %r" % (client, sp.get("parentSpanId"), w))
        attrs = {a["key"]: a["value"] for a in sp.get("attributes", [])}
        tags = w.get("tags", {})
        if "error" in tags:
            if sp.get("status", {}).get("code") not in (2, "STATUS_CODE_ERROR"):
                die("%s: error tag not an error status: %r" % (client, sp))
        if "peer.service" in tags or "remoteEndpoint" in w:
            want_peer = tags.get("peer.service") or w["remoteEndpoint"].get("serviceName")
            if attrs.get("peer.service", {}).get("stringValue") != want_peer:
                die("%s: peer.service %r, want %r" % (client, attrs.get("peer.service"), want_peer))
        for k, v in tags.items():
            if k in ("error", "otel.status_code", "otel.library.name", "otel.library.version",
                     "otel.scope.name", "otel.scope.version"):
                continue
            # Tags that describe the process are resource attributes.
            where = res if re.match(r"(telemetry|service|deployment)\.", k) else attrs
            if where.get(k, {}).get("stringValue") != v:
                die("%s: attribute %s = %r, sent tag %r" % (client, k, attrs.get(k), v))
        if "otel.scope.name" in tags and scope.get("name") != tags["otel.scope.name"]:
            die("%s: scope %r, sent %r" % (client, scope, tags["otel.scope.name"]))
        events = [e["name"] for e in sp.get("events", [])]
        if events != [a["value"] for a in w.get("annotations", [])]:
            die("%s: events %r, sent %r" % (client, events, w.get("annotations")))
    return tid


def check_shared(d):
    """A B3 call reported Zipkin's way: the caller's client span and the callee's
    server span sharing its ID (shared: true), each from its own service. Both
    come back as sent, and the call is a dependency link with its error."""
    now = int(time.time() * 1e6)
    tid = "%032x" % 0x5ba4ed
    sent = [
        {"traceId": tid, "id": "000000000000000a", "kind": "SERVER", "name": "root",
         "timestamp": now, "duration": 900, "localEndpoint": {"serviceName": "zk-front"}},
        {"traceId": tid, "parentId": "000000000000000a", "id": "000000000000000b",
         "kind": "CLIENT", "name": "call back", "timestamp": now + 10, "duration": 500,
         "localEndpoint": {"serviceName": "zk-front", "ipv4": "10.1.2.3"},
         "remoteEndpoint": {"serviceName": "zk-back", "ipv4": "10.1.2.4", "port": 8080}},
        {"traceId": tid, "parentId": "000000000000000a", "id": "000000000000000b",
         "kind": "SERVER", "name": "serve", "timestamp": now + 20, "duration": 400,
         "shared": True, "localEndpoint": {"serviceName": "zk-back", "port": 8080},
         "tags": {"error": "overloaded"}},
    ]
    for span in sent:  # one request per service, as they would report
        status, _, body = post(d.zipkin_port, json.dumps([span]).encode())
        if status != 202:
            die("shared span: %d %r" % (status, body))
    got = wait_for(lambda: (lambda r: json.loads(r[2]) if r[0] == 200 and
                            len(json.loads(r[2])) == 3 else None)(
        request(d.zipkin_port, "GET", "/api/v2/trace/" + tid)), what="the shared trace")
    key = lambda x: (x["id"], x.get("shared", False))  # noqa: E731
    for w, g in zip(sorted(map(normalized, sent), key=key), sorted(got, key=key)):
        if w != g:
            die("shared trace: sent %r, got %r" % (w, g))
    # In OTLP the server half has an ID of its own under the client: a tree.
    _, _, body = request(d.query_port, "GET", "/api/v2/traces/" + tid)
    doc = json.loads(body)
    if doc.get("status") != "COMPLETE":
        die("the shared trace is not a clean tree on the Tempo API: %r" % doc.get("status"))
    wait_for(lambda: any(l["parent"] == "zk-front" and l["child"] == "zk-back" and
                         l["errorCount"] == 1 and l["callCount"] == 1
                         for l in get_json(d.zipkin_port, "/api/v2/dependencies?endTs=%d" %
                                           (int(time.time() * 1000) + 60000))),
             what="the zk-front -> zk-back dependency link")
    return tid


# ---------------------------------------------------------------- API shapes

def check_span_shape(s, where):
    """A Span of zipkin2-api.yaml."""
    allowed = {"traceId", "id", "parentId", "name", "kind", "timestamp", "duration", "debug",
               "shared", "localEndpoint", "remoteEndpoint", "annotations", "tags"}
    if set(s) - allowed:
        die("%s: unknown span fields %r" % (where, set(s) - allowed))
    if not HEX_TRACE.match(s["traceId"]) or not HEX16.match(s["id"]):
        die("%s: IDs not lower-hex: %r" % (where, s))
    if "parentId" in s and not HEX16.match(s["parentId"]):
        die("%s: parentId %r" % (where, s["parentId"]))
    if "kind" in s and s["kind"] not in ("CLIENT", "SERVER", "PRODUCER", "CONSUMER"):
        die("%s: kind %r" % (where, s["kind"]))
    for k in ("timestamp", "duration"):
        if k in s and not (isinstance(s[k], int) and s[k] >= 1):
            die("%s: %s %r is not a positive integer of microseconds" % (where, k, s[k]))
    if "timestamp" in s and not 10**15 < s["timestamp"] < 10**17:
        die("%s: timestamp %r is not in microseconds" % (where, s["timestamp"]))
    for ep in ("localEndpoint", "remoteEndpoint"):
        e = s.get(ep)
        if e is None:
            continue
        if set(e) - {"serviceName", "ipv4", "ipv6", "port"}:
            die("%s: %s fields %r" % (where, ep, e))
        if "port" in e and not isinstance(e["port"], int):
            die("%s: %s port %r" % (where, ep, e["port"]))
    for a in s.get("annotations", []):
        if set(a) != {"timestamp", "value"} or not isinstance(a["timestamp"], int) or \
                not isinstance(a["value"], str):
            die("%s: annotation %r" % (where, a))
    for k, v in s.get("tags", {}).items():
        if not isinstance(v, str):
            die("%s: tag %s = %r is not a string" % (where, k, v))


def check_string_list(v, where):
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        die("%s: want a list of strings, got %r" % (where, v))
    if v != sorted(set(v)):
        die("%s: want sorted distinct names, got %r" % (where, v))
    return v


def check_endpoints(d, traces):
    Z = d.zipkin_port
    status, headers, _ = request(Z, "GET", "/api/v2/services")
    if headers.get("Access-Control-Allow-Origin") != "*":
        die("the query API does not allow other origins: %r" % headers)
    services = check_string_list(get_json(Z, "/api/v2/services"), "services")
    for s in ("zk-otel-json", "zk-otel-proto", "zk-js", "zk-native"):
        if s not in services:
            die("services %r lack %s" % (services, s))
    names = check_string_list(get_json(Z, "/api/v2/spans?serviceName=zk-otel-json"), "spans")
    if names != ["GET /checkout", "SELECT orders", "render"]:
        die("span names %r" % names)
    get_json(Z, "/api/v2/spans", want=400)
    remote = check_string_list(
        get_json(Z, "/api/v2/remoteServices?serviceName=zk-otel-json"), "remoteServices")
    if remote != ["orders-db"]:
        die("remoteServices %r" % remote)
    if get_json(Z, "/api/v2/remoteServices?serviceName=nobody") != []:
        die("remoteServices of an unknown service should be []")

    # /traces: lists of traces, each a list of spans of one trace.
    end = int(time.time() * 1000) + 60000
    res = get_json(Z, "/api/v2/traces?serviceName=zk-otel-json&endTs=%d&lookback=3600000" % end)
    if not isinstance(res, list) or len(res) != 1 or traces["otel-json"] != res[0][0]["traceId"]:
        die("traces by service: %r" % res)
    for t in res:
        if len({s["traceId"] for s in t}) != 1:
            die("a trace of /traces mixes trace IDs")
        for s in t:
            check_span_shape(s, "/traces")
    queries = [
        ("spanName=SELECT%20orders", ["otel-json", "otel-proto"]),
        ("remoteServiceName=orders-db", ["otel-json", "otel-proto"]),
        ("annotationQuery=error",
         ["otel-json", "otel-proto", "otel-js", "py-zipkin", "py-zipkin-v1", "shared"]),
        ("serviceName=zk-back&annotationQuery=error", ["shared"]),
        ("annotationQuery=error%3Doverloaded", ["shared"]),
        ("annotationQuery=error%3Dtimeout", ["py-zipkin", "py-zipkin-v1"]),
        ("remoteServiceName=zk-back&spanName=call%20back", ["shared"]),
        ("annotationQuery=http.method%3DPOST", ["otel-js"]),
        ("annotationQuery=retry", ["py-zipkin", "py-zipkin-v1"]),
        ("annotationQuery=db.system%3Dpostgresql%20and%20error", ["otel-json", "otel-proto"]),
        ("annotationQuery=http.method%3DGET%20and%20error", []),
        ("serviceName=zk-native&annotationQuery=user%3Dalice", ["py-zipkin"]),
        ("annotationQuery=user%3Dbob", []),
        ("minDuration=1000000000", []),
        ("serviceName=zk-js&maxDuration=100000000", ["otel-js"]),
    ]
    for q, want in queries:
        res = get_json(Z, "/api/v2/traces?%s&limit=50&endTs=%d" % (q, end))
        got = sorted(t[0]["traceId"] for t in res)
        if got != sorted(traces[c] for c in want):
            die("/traces?%s: got %r, want the traces of %r" % (q, got, want))
    if len(get_json(Z, "/api/v2/traces?limit=2&endTs=%d" % end)) != 2:
        die("/traces limit=2")
    for bad in ("limit=x", "minDuration=-1", "endTs=soon", "minDuration=5&maxDuration=2"):
        body = get_json(Z, "/api/v2/traces?" + bad, want=400)
        if not body.strip():
            die("/traces?%s: 400 without a message" % bad)

    # /trace/{id}: a list of spans; 404 for an unknown ID, 400 for a bad one.
    for c, tid in traces.items():
        for s in get_json(Z, "/api/v2/trace/" + tid):
            check_span_shape(s, "/trace/%s (%s)" % (tid, c))
    # A 64-bit ID also answers as its 128-bit form, and the other way round.
    native = traces["py-zipkin"]
    if get_json(Z, "/api/v2/trace/" + "0" * 16 + native)[0]["traceId"] != native:
        die("/trace with a zero-padded 64-bit ID")
    get_json(Z, "/api/v2/trace/00000000000000000000000000000abc", want=404)
    get_json(Z, "/api/v2/trace/not-hex", want=400)

    # /traceMany: the traces found, unknown ones left out; traceIds required.
    many = get_json(Z, "/api/v2/traceMany?traceIds=%s,%s,abc" % (traces["otel-json"],
                                                                 traces["otel-js"]))
    if sorted(t[0]["traceId"] for t in many) != sorted([traces["otel-json"], traces["otel-js"]]):
        die("/traceMany: %r" % [t[0]["traceId"] for t in many])
    get_json(Z, "/api/v2/traceMany", want=400)

    # /dependencies: links with callCount and errorCount; endTs required.
    deps = get_json(Z, "/api/v2/dependencies?endTs=%d&lookback=3600000" % end)
    for link in deps:
        if set(link) != {"parent", "child", "callCount", "errorCount"} or \
                not isinstance(link["callCount"], int) or not isinstance(link["errorCount"], int):
            die("/dependencies link %r" % link)
    if ("zk-front", "zk-back") not in {(l["parent"], l["child"]) for l in deps}:
        die("/dependencies lacks zk-front -> zk-back: %r" % deps)
    if get_json(Z, "/api/v2/dependencies?endTs=1000&lookback=1000") != []:
        die("/dependencies of 1970 should be []")
    get_json(Z, "/api/v2/dependencies", want=400)

    keys = check_string_list(get_json(Z, "/api/v2/autocompleteKeys"), "autocompleteKeys")
    if "http.method" not in keys:
        die("autocompleteKeys %r lack http.method" % keys)
    vals = check_string_list(get_json(Z, "/api/v2/autocompleteValues?key=http.method"),
                             "autocompleteValues")
    if vals != ["GET", "POST"]:
        die("autocompleteValues %r" % vals)
    get_json(Z, "/api/v2/autocompleteValues", want=400)
    get_json(Z, "/api/v2/nothing", want=404)
    status, headers, _ = request(Z, "DELETE", "/api/v2/services")
    if status != 405:
        die("DELETE answered %d" % status)


# ---------------------------------------------------------------- bad input

def metric(d, name, labels):
    _, body = d.get(d.query_port, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + "{") and all(l in line for l in labels):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def check_bad_input(d):
    Z = d.zipkin_port
    before = metric(d, "ottr_receiver_bad_requests_total", ['protocol="zipkin"', 'reason="decode"'])
    cases = [
        (b"not json", "application/json"),
        (b"{}", "application/json"),
        (b'[{"traceId":"xyz","id":"1"}]', "application/json"),
        (b'[{"traceId":"1"}]', "application/json"),
        (b"\x0a\x05\x0a", "application/x-protobuf"),
    ]
    for body, ctype in cases:
        status, headers, text = post(Z, body, ctype)
        if status != 400 or not text.startswith(b"Malformed reading List<Span> from "):
            die("bad body %r: %d %r" % (body, status, text))
        if not headers.get("Content-Type", "").startswith("text/plain"):
            die("bad body answered as %r" % headers.get("Content-Type"))
    after = metric(d, "ottr_receiver_bad_requests_total", ['protocol="zipkin"', 'reason="decode"'])
    if after - before != len(cases):
        die("bad bodies counted %d, want %d" % (after - before, len(cases)))
    status, _, text = post(Z, b"\x1f\x8b not gzip", extra={"Content-Encoding": "gzip"})
    if status != 400 or b"gunzip" not in text:
        die("corrupt gzip: %d %r" % (status, text))
    status, _, text = request(Z, "POST", "/api/v1/spans", b"[{}]",
                              {"Content-Type": "application/json"})
    if status != 400 or not text.startswith(b"Malformed reading List<Span> from json v1: "):
        die("bad v1 spans: %d %r" % (status, text))
    status, _, _ = request(Z, "POST", "/api/v1/spans", b"\x0c\x00",
                           {"Content-Type": "application/x-thrift"})
    if status != 415:
        die("v1 Thrift: %d" % status)
    status, headers, _ = request(Z, "PUT", "/api/v2/spans", b"[]")
    if status != 405:
        die("PUT /api/v2/spans: %d" % status)
    # Over limits.max_spans_per_request: 413, the spans counted as rejected.
    rej = metric(d, "ottr_receiver_spans_total", ['protocol="zipkin"', 'result="rejected"'])
    many = json.dumps([{"traceId": "abc", "id": "%x" % (i + 1)} for i in range(51)]).encode()
    status, _, text = post(Z, many)
    if status != 413 or b"max_spans_per_request" not in text:
        die("51 spans over a limit of 50: %d %r" % (status, text))
    if metric(d, "ottr_receiver_spans_total",
              ['protocol="zipkin"', 'result="rejected"']) - rej != 51:
        die("the 51 refused spans were not counted as rejected")
    # Accepted: an empty list, and a gzip body; counted as accepted spans.
    status, _, _ = post(Z, b"[]")
    if status != 202:
        die("empty list: %d" % status)
    acc = metric(d, "ottr_receiver_spans_total", ['protocol="zipkin"', 'result="accepted"'])
    now = int(time.time() * 1e6)
    body = json.dumps([{"traceId": "%032x" % 0xfeed, "id": "%016x" % 1, "name": "gz",
                        "timestamp": now, "duration": 5,
                        "localEndpoint": {"serviceName": "zk-gzip"}}]).encode()
    status, _, _ = post(Z, gzip.compress(body), extra={"Content-Encoding": "gzip"})
    if status != 202:
        die("gzip body: %d" % status)
    if metric(d, "ottr_receiver_spans_total",
              ['protocol="zipkin"', 'result="accepted"']) - acc != 1:
        die("the gzip span was not counted as accepted")


def main():
    if shutil.which("node") is None:
        die("node is not on PATH; run `scripts/bootstrap --test`")
    if not os.path.exists(VENV_PY):
        die("%s is missing; run `scripts/bootstrap --test`" % VENV_PY)
    d = Ottrd()
    cfg = os.path.join(d.tmp, "ottr.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    d.args = ["--config", cfg]
    d.start()
    try:
        clients = [("otel-json", "zk-otel-json"), ("otel-proto", "zk-otel-proto"),
                   ("otel-js", "zk-js"), ("py-zipkin", "zk-native"),
                   ("py-zipkin-v1", "zk-native-v1")]
        sent = {c: run_client(d, c, svc, d.tmp) for c, svc in clients}
        traces = {c: check_round_trip(d, c, sent[c]) for c, _ in clients}
        traces["shared"] = check_shared(d)[16:]
        check_endpoints(d, traces)
        check_bad_input(d)
    except BaseException:
        d.dump_log()
        raise
    finally:
        d.stop()
        shutil.rmtree(d.tmp, ignore_errors=True)
    print("test_zipkin: ok")


if __name__ == "__main__":
    main()
