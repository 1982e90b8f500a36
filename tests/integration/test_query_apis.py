"""tests/integration/test_query_apis.py - ingests traces through OTLP/HTTP (JSON)
and reads them back through Grafana Tempo's API (:3200) and Jaeger's query API
(:16686) as Grafana and Jaeger UI call them: trace by ID in protobuf and JSON,
TraceQL and tag search, discovery, dependencies, the service graph, the admin
checkpoint, and the errors bad parameters get."""
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

TRACE = "5b8efff798038103d269b633813fc60c"
ORPHAN_TRACE = "0000000000000000a1b2c3d4e5f60718"
FUTURE_TRACE = "22000000000000000000000000000001"
Y2200 = 7258118400  # 2200-01-01T00:00:00Z, past 32-bit seconds (2106)
MS = 1000000


def kv(k, v):
    if isinstance(v, bool):
        return {"key": k, "value": {"boolValue": v}}
    if isinstance(v, int):
        return {"key": k, "value": {"intValue": str(v)}}
    if isinstance(v, float):
        return {"key": k, "value": {"doubleValue": v}}
    return {"key": k, "value": {"stringValue": v}}


def span(trace, sid, parent, name, kind, start, dur_ms, attrs=(), status=None, events=()):
    s = {"traceId": trace, "spanId": sid, "name": name, "kind": kind,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + dur_ms * MS),
         "attributes": list(attrs)}
    if parent:
        s["parentSpanId"] = parent
    if status:
        s["status"] = status
    if events:
        s["events"] = list(events)
    return s


def export_body(now):
    fe = [span(TRACE, "00f067aa0ba902b7", None, "GET /cart", 2, now, 150,
               [kv("http.method", "GET"), kv("http.status_code", 200), kv("ratio", 0.5),
                kv("cached", False)]),
          span(TRACE, "00f067aa0ba902b8", "00f067aa0ba902b7", "GET /api/cart", 3,
               now + 5 * MS, 120, [kv("peer.service", "cart")])]
    cart = [span(TRACE, "00f067aa0ba902b9", "00f067aa0ba902b8", "GET /api/cart", 2,
                 now + 10 * MS, 100, [kv("http.status_code", 503)],
                 status={"code": 2, "message": "cart unavailable"},
                 events=[{"timeUnixNano": str(now + 50 * MS), "name": "exception",
                          "attributes": [kv("exception.type", "IOError")]}])]
    orphan = [span(ORPHAN_TRACE, "b000000000000001", "1111111111111111", "process job", 5,
                   now, 30)]
    future = [span(FUTURE_TRACE, "c000000000000001", None, "from the future", 2,
                   Y2200 * 1000000000 + 5 * MS, 20)]
    return {"resourceSpans": [
        {"resource": {"attributes": [kv("service.name", "future")]},
         "scopeSpans": [{"scope": {}, "spans": future}]},
        {"resource": {"attributes": [kv("service.name", "frontend"), kv("host.name", "web-1")]},
         "scopeSpans": [{"scope": {"name": "http", "version": "1.0"}, "spans": fe}]},
        {"resource": {"attributes": [kv("service.name", "cart")]},
         "scopeSpans": [{"scope": {"name": "cart-lib"}, "spans": cart}]},
        {"resource": {"attributes": [kv("service.name", "worker")]},
         "scopeSpans": [{"scope": {}, "spans": orphan}]},
    ]}


def post(port, path, body, ctype="application/json"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body,
                                 headers={"Content-Type": ctype}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def get_json(d, port, path, want=200):
    code, body = d.get(port, path)
    check(code == want, "%s: status %d, want %d: %r" % (path, code, want, body[:300]))
    return json.loads(body) if body else None


def q(params):
    return urllib.parse.urlencode(params)


def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i


def tempo_checks(d, now_s):
    P = d.query_port
    code, body = d.get(P, "/api/echo")
    check(code == 200 and body == b"echo", "/api/echo")
    info = get_json(d, P, "/api/status/buildinfo")
    check("version" in info and "goVersion" in info, "buildinfo fields")

    # Trace by ID, as Grafana asks: v2, protobuf, with the time picker's range.
    rng = "?start=%d&end=%d" % (now_s - 3600, now_s + 3600)
    code, body = d.get(P, "/api/v2/traces/" + TRACE + rng,
                       {"Accept": "application/protobuf"})
    check(code == 200, "v2 protobuf status %d" % code)
    check(body[0] == 0x0A, "v2 protobuf starts with field 1 (trace)")
    n, i = read_varint(body, 1)
    check(body[i] == 0x0A, "Trace starts with resource_spans")
    check(i + n <= len(body), "trace field length fits")
    rest = body[i + n:]
    check(0x18 not in rest[:1], "no PARTIAL status for a sound trace")

    v2 = get_json(d, P, "/api/v2/traces/" + TRACE)
    check(v2["status"] == "COMPLETE", "v2 JSON COMPLETE")
    spans = [s for rs in v2["trace"]["resourceSpans"] for ss in rs["scopeSpans"]
             for s in ss["spans"]]
    check(len(spans) == 3, "3 spans in v2 JSON, got %d" % len(spans))
    check(all(s["traceId"] == TRACE for s in spans), "hex trace IDs")

    v1 = get_json(d, P, "/api/traces/" + TRACE.upper())
    check("batches" in v1 and len(v1["batches"]) == 2, "v1 JSON has 2 batches")
    code, body = d.get(P, "/api/traces/" + TRACE, {"Accept": "application/protobuf"})
    check(code == 200 and body[0] == 0x0A, "v1 protobuf")

    orphan = get_json(d, P, "/api/v2/traces/" + ORPHAN_TRACE)
    check(orphan["status"] == "PARTIAL" and "missing" in orphan["message"],
          "orphan trace is PARTIAL: %r" % orphan.get("message"))
    # Short IDs are left-padded, as Tempo does.
    get_json(d, P, "/api/v2/traces/a1b2c3d4e5f60718")

    code, body = d.get(P, "/api/v2/traces/ffffffffffffffffffffffffffffffff")
    check(code == 404 and body == b"", "unknown trace: 404, empty body")
    code, body = d.get(P, "/api/traces/" + TRACE + "0")
    check(code == 400 and b"trace ID" in body, "33 hex digits: 400")
    code, _ = d.get(P, "/api/traces/" + TRACE + "?start=1&end=2")
    check(code == 404, "outside start/end: 404")

    # Search as Grafana's editor writes it.
    res = get_json(d, P, "/api/search?" + q({
        "q": '{resource.service.name="cart" && name="GET /api/cart" && duration>50ms && '
             'status=error}', "limit": 20, "spss": 3,
        "start": now_s - 3600, "end": now_s + 3600}))
    check([t["traceID"] for t in res["traces"]] == [TRACE], "TraceQL search finds the trace")
    t = res["traces"][0]
    check(t["rootServiceName"] == "frontend" and t["rootTraceName"] == "GET /cart", "root")
    check(t["spanSets"][0]["matched"] == 1, "one matched span")
    check(t["serviceStats"]["cart"]["errorCount"] == 1, "serviceStats")
    check(res["metrics"]["inspectedTraces"] >= 1, "metrics.inspectedTraces")
    check(isinstance(res["metrics"]["inspectedBytes"], str), "inspectedBytes is a string")

    res = get_json(d, P, "/api/search?" + q({"q": "{ span.http.status_code >= 500 }"}))
    check([t["traceID"] for t in res["traces"]] == [TRACE], "numeric attribute search")
    res = get_json(d, P, "/api/search?" + q({"tags": "service.name=frontend http.method=GET",
                                             "minDuration": "100ms"}))
    check([t["traceID"] for t in res["traces"]] == [TRACE], "tags search")
    res = get_json(d, P, "/api/search?" + q({"tags": "service.name=frontend",
                                             "minDuration": "10s"}))
    check(res["traces"] == [], "minDuration excludes")
    res = get_json(d, P, "/api/search?" + q({"q": "{}", "limit": 1}))
    check(len(res["traces"]) == 1, "limit 1")

    code, body = d.get(P, "/api/search?" + q({"q": "{} | rate()"}))
    check(code == 400 and b"TraceQL metrics function" in body,
          "metrics query on search: 400 naming it: %r" % body)
    code, body = d.get(P, "/api/search?" + q({"minDuration": "soon"}))
    check(code == 400 and b"minDuration" in body, "bad minDuration: 400 naming it")
    code, body = d.get(P, "/api/search?limit=x")
    check(code == 400 and b"limit" in body, "bad limit: 400 naming it")
    code, body = d.get(P, "/api/search?start=1&end=18446744073")
    check(code == 400 and body == b"invalid end: out of range\n",
          "end past 64-bit nanoseconds: 400: %r" % body)
    code, body = d.get(P, "/api/search?start=9999999999999")
    check(code == 400 and body == b"invalid start: out of range\n", "start: %r" % body)

    tags = get_json(d, P, "/api/search/tags")
    check("http.method" in tags["tagNames"], "v1 tag names")
    tags2 = get_json(d, P, "/api/v2/search/tags")
    scopes = {s["name"]: s["tags"] for s in tags2["scopes"]}
    check("service.name" in scopes["resource"] and "http.method" in scopes["span"],
          "v2 tag scopes")
    vals = get_json(d, P, "/api/v2/search/tag/resource.service.name/values")
    check({"type": "string", "value": "cart"} in vals["tagValues"], "v2 tag values")
    vals = get_json(d, P, "/api/search/tag/http.method/values")
    check(vals["tagValues"] == ["GET"], "v1 tag values")
    code, _ = d.get(P, "/api/v2/search/tag/bogus/values")
    check(code == 400, "unscoped v2 tag: 400")


def far_time_checks(d):
    """A trace dated 2200 is found by any explicit range that contains it, the
    same instant written in each API's unit; ranges that miss it do not."""
    P, J = d.query_port, d.jaeger_port

    def tempo(start, end, path="/api/search"):
        res = get_json(d, P, path + "?" + q({"tags": "service.name=future",
                                              "start": start, "end": end}))
        return [t["traceID"] for t in res["traces"]]
    check(tempo(Y2200 - 60, Y2200 + 60) == [FUTURE_TRACE], "tempo: 2200 in range")
    check(tempo(Y2200, Y2200) == [FUTURE_TRACE], "tempo: the end second is whole")
    check(tempo(9999999999 - 60, 9999999999) == [], "tempo: end=9999999999 (2286) misses 2200")
    check(tempo(Y2200 - 86400 * 365 * 50, Y2200 - 86400) == [], "tempo: 2150..2199 misses")
    check(tempo(Y2200 - 60, 18446744072) == [FUTURE_TRACE], "tempo: up to the last second")
    code, _ = d.get(P, "/api/v2/traces/%s?start=%d&end=%d" % (FUTURE_TRACE, Y2200, Y2200 + 1))
    check(code == 200, "tempo: trace by ID in a 2200 range")
    code, _ = d.get(P, "/api/v2/traces/%s?start=%d&end=%d" % (FUTURE_TRACE, Y2200 + 1,
                                                             Y2200 + 2))
    check(code == 404, "tempo: trace by ID outside its range: 404")

    us = Y2200 * 1000000
    res = get_json(d, J, "/api/traces?" + q({"service": "future", "start": us - 60000000,
                                              "end": us + 60000000}))
    check([t["traceID"] for t in res["data"]] == [FUTURE_TRACE], "jaeger: 2200 in range")
    res = get_json(d, J, "/api/traces?" + q({"service": "future", "start": us + 60000000,
                                              "end": 9999999999 * 1000000}))
    check(res["data"] == [], "jaeger: range after it")
    res = get_json(d, J, "/api/v3/traces?" + q({"query.service_name": "future",
                                                 "query.start_time_min": "2199-12-31T23:59:00Z",
                                                 "query.start_time_max": "2200-01-01T00:01:00Z"}))
    check(len(res["result"]["resourceSpans"]) == 1, "v3: 2200 in range")
    # The same out-of-range instant gets the same answer on both APIs.
    res = get_json(d, J, "/api/traces?service=future&end=18446744073000000", want=400)
    check("out of range" in res["errors"][0]["msg"], "jaeger: past 2554 out of range")
    res = get_json(d, J, "/api/v3/traces?query.service_name=future"
                         "&query.start_time_max=2554-07-21T23:34:33Z", want=400)
    check("out of range" in res["error"]["message"], "v3: past 2554 out of range")
    res = get_json(d, J, "/api/dependencies?endTs=18446744073000&lookback=1000", want=400)
    check("endTs" in res["errors"][0]["msg"], "dependencies: endTs past 2554 out of range")
    get_json(d, J, "/api/dependencies?endTs=%d&lookback=60000" % (Y2200 * 1000))
    code, body = d.get(P, "/api/search/tags?start=1&end=18446744073")
    check(code == 400 and b"out of range" in body, "tags: end past 2554: 400")
    get_json(d, P, "/api/v2/search/tag/resource.service.name/values?start=%d&end=%d"
             % (Y2200 - 60, 9999999999))


def jaeger_checks(d, now_s):
    J = d.jaeger_port
    svcs = get_json(d, J, "/api/services")
    check({"frontend", "cart", "worker"} <= set(svcs["data"]), "services %r" % svcs)
    check(svcs["errors"] is None and svcs["total"] == len(svcs["data"]), "envelope")
    ops = get_json(d, J, "/api/services/frontend/operations")
    check(set(ops["data"]) == {"GET /cart", "GET /api/cart"}, "operations")
    ops = get_json(d, J, "/api/operations?service=cart&spanKind=server")
    check(ops["data"] == [{"name": "GET /api/cart", "spanKind": "server"}], "operations kind")

    tr = get_json(d, J, "/api/traces/" + TRACE)["data"][0]
    check(tr["traceID"] == TRACE and len(tr["spans"]) == 3, "jaeger trace")
    check(len(tr["processes"]) == 2, "one process per resource")
    err_span = [s for s in tr["spans"] if s["spanID"] == "00f067aa0ba902b9"][0]
    tags = {t["key"]: t for t in err_span["tags"]}
    check(tags["error"]["value"] is True and tags["otel.status_code"]["value"] == "ERROR",
          "error tags")
    check(tags["span.kind"]["value"] == "server", "span.kind")
    check(err_span["references"][0]["refType"] == "CHILD_OF", "CHILD_OF reference")
    check(err_span["logs"][0]["fields"][0] == {"key": "event", "type": "string",
                                               "value": "exception"}, "event as log")
    orphan = get_json(d, J, "/api/traces/" + ORPHAN_TRACE)["data"][0]
    check(orphan["traceID"] == "a1b2c3d4e5f60718", "16 hex digits when the high half is 0")
    check(orphan["spans"][0]["warnings"], "orphan span warning")

    window = {"start": (now_s - 3600) * 1000000, "end": (now_s + 3600) * 1000000}
    res = get_json(d, J, "/api/traces?" + q(dict(window, service="cart",
                                                 tags=json.dumps({"error": "true"}),
                                                 limit=20)))
    check([t["traceID"] for t in res["data"]] == [TRACE], "jaeger search by error tag")
    res = get_json(d, J, "/api/traces?" + q(dict(window, service="frontend",
                                                 operation="GET /cart", minDuration="100ms")))
    check(len(res["data"]) == 1, "jaeger search by operation and duration")
    res = get_json(d, J, "/api/traces?" + q(dict(window, service="frontend",
                                                 minDuration="10s")))
    check(res["data"] == [], "jaeger minDuration excludes")
    res = get_json(d, J, "/api/traces?traceID=%s&traceID=%s" % (TRACE, ORPHAN_TRACE))
    check(len(res["data"]) == 2, "traceID= list")

    res = get_json(d, J, "/api/traces?operation=x", want=400)
    check(res["errors"][0]["code"] == 400 and "service" in res["errors"][0]["msg"],
          "missing service: 400 in the envelope")
    res = get_json(d, J, "/api/traces?service=cart&minDuration=long", want=400)
    check("minDuration" in res["errors"][0]["msg"], "bad minDuration: 400 naming it")
    res = get_json(d, J, "/api/traces/ffffffffffffffff", want=404)
    check(res["data"] is None and res["errors"][0]["code"] == 404, "unknown trace: 404")

    v3 = get_json(d, J, "/api/v3/traces/" + TRACE)
    check(len(v3["result"]["resourceSpans"]) == 2, "v3 trace")
    v3s = get_json(d, J, "/api/v3/services")
    check("cart" in v3s["services"], "v3 services")
    v3o = get_json(d, J, "/api/v3/operations?service=cart")
    check(v3o["operations"] == [{"name": "GET /api/cart", "spanKind": "server"}], "v3 ops")
    t0 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s - 3600))
    t1 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s + 3600))
    v3f = get_json(d, J, "/api/v3/traces?" + q({"query.service_name": "cart",
                                                 "query.start_time_min": t0,
                                                 "query.start_time_max": t1}))
    check(len(v3f["result"]["resourceSpans"]) == 2, "v3 search")
    res = get_json(d, J, "/api/v3/traces?" + q({"query.service_name": "cart",
                                                 "query.start_time_min": "yesterday"}),
                   want=400)
    check("query.start_time_min" in res["error"]["message"], "v3 error names the parameter")



def graph_checks(d, now_s):
    """The dependency map and service graph come from every span, persisted per
    minute (complete minutes, and everything at shutdown): read after a restart."""
    J = d.jaeger_port
    r = get_json(d, J, "/api/dependencies?endTs=%d&lookback=3600000" % ((now_s + 120) * 1000))
    links = [x for x in r["data"] if x["parent"] == "frontend" and x["child"] == "cart"]
    check(links and links[0]["callCount"] >= 1, "frontend -> cart dependency: %r" % r)
    P = d.query_port
    g = get_json(d, P, "/api/service-graph?start=%d&end=%d" % (now_s - 3600, now_s + 120))
    check({"frontend", "cart"} <= {n["service"] for n in g["nodes"]}, "graph nodes")
    e = [x for x in g["edges"] if x["client"] == "frontend" and x["server"] == "cart"]
    check(e and e[0]["calls"] >= 1 and e[0]["errors"] >= 1, "graph edge with its error")
    check(set(e[0]["latencyMs"]) == {"p50", "p95", "p99"}, "latency quantiles")
    code, _ = d.get(P, "/api/service-graph?start=10&end=5")
    check(code == 400, "service graph start > end: 400")


def admin_checks(d):
    """Checkpoints are on the admin port only, under the backup directory, by name."""
    A = d.admin_port
    backups = os.path.join(os.path.realpath(d.data_dir), "backups")
    cp = os.path.join(backups, "checkpoint")
    code, body = post(A, "/api/admin/checkpoint?" + q({"name": "checkpoint"}), b"")
    check(code == 200 and os.path.isdir(cp) and json.loads(body)["dir"] == cp,
          "checkpoint: %d %r" % (code, body))
    code, _ = post(A, "/api/admin/checkpoint?" + q({"name": "checkpoint"}), b"")
    check(code == 409, "checkpoint under an existing name: 409")
    outside = os.path.join(os.path.dirname(os.path.realpath(d.data_dir)), "elsewhere")
    code, body = post(A, "/api/admin/checkpoint?" + q({"dir": outside}), b"")
    check(code == 400 and b"admin.backup_dir" in body and not os.path.exists(outside),
          "a checkpoint into an arbitrary dir is refused: %d %r" % (code, body))
    for name in ["../escape", "a/b", ".hidden", "..", "sp ace", "nl\nx", "x" * 129, ""]:
        code, body = post(A, "/api/admin/checkpoint?" + q({"name": name}), b"")
        check(code == 400, "checkpoint name %r: 400 %r" % (name, body))
    check(sorted(os.listdir(backups)) == ["checkpoint"],
          "refused checkpoints wrote nothing: %r" % os.listdir(backups))
    check(not os.path.exists(os.path.join(os.path.dirname(backups), "escape")), "no escape")
    code, _ = d.get(A, "/api/admin/checkpoint?" + q({"name": "cp2"}))
    check(code == 405, "GET checkpoint: 405")
    code, _ = post(d.query_port, "/api/admin/checkpoint?" + q({"name": "cp3"}), b"")
    check(code in (404, 405), "no checkpoint on the query port: %d" % code)
    check(d.get(A, "/ready")[0] == 200 and d.get(A, "/metrics")[0] == 200, "admin /ready /metrics")
    return cp


def main():
    tmp_cfg = os.path.join(os.environ.get("TMPDIR", "/tmp"), "ottr-query-%d.yaml" % os.getpid())
    with open(tmp_cfg, "w") as f:
        f.write("sampling:\n  decision_wait: 2s\n  decision_wait_after_root: 200ms\n")
    cpdir = tempfile.mkdtemp(prefix="ottr-cp-")
    data = os.path.join(cpdir, "data")
    try:
        with Ottrd("--config", tmp_cfg, data_dir=data) as d:
            now = time.time_ns()
            now_s = now // 1000000000
            code, body = post(d.http_port, "/v1/traces", json.dumps(export_body(now)).encode())
            check(code == 200, "export: %d %r" % (code, body))
            wait_for(lambda: d.get(d.query_port, "/api/v2/traces/" + TRACE)[0] == 200,
                     timeout=30, what="the trace to be stored")
            wait_for(lambda: d.get(d.query_port, "/api/v2/traces/" + ORPHAN_TRACE)[0] == 200,
                     timeout=30, what="the orphan trace to be stored")
            wait_for(lambda: d.get(d.query_port, "/api/v2/traces/" + FUTURE_TRACE)[0] == 200,
                     timeout=30, what="the 2200 trace to be stored")
            tempo_checks(d, now_s)
            far_time_checks(d)
            jaeger_checks(d, now_s)
            cp = admin_checks(d)
        with Ottrd("--config", tmp_cfg, data_dir=data) as d:
            graph_checks(d, now_s)
            get_json(d, d.query_port, "/api/v2/traces/" + TRACE)
        # The checkpoint is a working data directory.
        with Ottrd(data_dir=cp) as d:
            get_json(d, d.query_port, "/api/v2/traces/" + TRACE)
    finally:
        os.unlink(tmp_cfg)
        shutil.rmtree(cpdir, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
