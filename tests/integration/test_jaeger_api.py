"""tests/integration/test_jaeger_api.py - what Jaeger UI gets from the classic
API beyond search: POST /api/transform (the UI's OTLP JSON upload) answers
Jaeger's model exactly; a traceID= list answers 200 with one error entry per
trace not found (the compare view); prettyPrint indents as Jaeger does; span
and process tags come sorted by key and flags are left out when zero."""
import json
import os
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

TRACE = "5b8efff798038103d269b633813fc60c"
SHORT = "0000000000000000d269b633813fc60c"
MS = 1000000


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def kv(k, v):
    if isinstance(v, bool):
        return {"key": k, "value": {"boolValue": v}}
    if isinstance(v, float):
        return {"key": k, "value": {"doubleValue": v}}
    if isinstance(v, list):
        return {"key": k, "value": {"arrayValue": {"values": [kv("", x)["value"] for x in v]}}}
    if isinstance(v, int):
        return {"key": k, "value": {"intValue": str(v)}}
    return {"key": k, "value": {"stringValue": v}}


def document(start):
    spans = [
        {"traceId": TRACE, "spanId": "eee19b7ec3c1b174", "name": "GET /cart", "kind": 2,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 5 * MS),
         "attributes": [kv("zone", "b"), kv("http.status_code", 500), kv("az", "a")],
         "status": {"code": 2, "message": "boom"},
         "events": [{"timeUnixNano": str(start + MS), "name": "exception",
                     "attributes": [kv("exception.type", "IOError"),
                                    kv("exception.message", "reset")]}]},
        {"traceId": TRACE, "spanId": "eee19b7ec3c1b175", "parentSpanId": "eee19b7ec3c1b174",
         "name": "SELECT", "kind": 3, "flags": 1,
         "attributes": [kv("ratio", 0.5), kv("list", ["a", 1]), kv("error", False)],
         "startTimeUnixNano": str(start + MS), "endTimeUnixNano": str(start + 3 * MS)},
        {"traceId": SHORT, "spanId": "aaa19b7ec3c1b174", "name": "tick",
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + MS)},
    ]
    return {"resourceSpans": [{
        "resource": {"attributes": [kv("service.name", "shop"), kv("host.name", "h1"),
                                    kv("deployment.environment", "prod")]},
        "scopeSpans": [{"scope": {"name": "lib", "version": "1.0"}, "spans": spans}]}]}


def transformed(start):
    us = start // 1000
    tag = lambda k, t, v: {"key": k, "type": t, "value": v}  # noqa: E731
    proc = {"p1": {"serviceName": "shop", "tags": [tag("deployment.environment", "string", "prod"),
                                                   tag("host.name", "string", "h1")]}}
    return {"data": [
        {"traceID": TRACE, "spans": [
            {"traceID": TRACE, "spanID": "eee19b7ec3c1b174", "operationName": "GET /cart",
             "references": [], "startTime": us, "duration": 5000,
             "tags": [tag("az", "string", "a"), tag("error", "bool", True),
                      tag("http.status_code", "int64", 500),
                      tag("otel.scope.name", "string", "lib"),
                      tag("otel.scope.version", "string", "1.0"),
                      tag("otel.status_code", "string", "ERROR"),
                      tag("otel.status_description", "string", "boom"),
                      tag("span.kind", "string", "server"), tag("zone", "string", "b")],
             "logs": [{"timestamp": us + 1000, "fields": [
                 tag("event", "string", "exception"),
                 tag("exception.message", "string", "reset"),
                 tag("exception.type", "string", "IOError")]}],
             "processID": "p1", "warnings": None},
            {"traceID": TRACE, "spanID": "eee19b7ec3c1b175", "flags": 1,
             "operationName": "SELECT",
             "references": [{"refType": "CHILD_OF", "traceID": TRACE,
                             "spanID": "eee19b7ec3c1b174"}],
             "startTime": us + 1000, "duration": 2000,
             "tags": [tag("error", "bool", False), tag("list", "string", '["a",1]'),
                      tag("otel.scope.name", "string", "lib"),
                      tag("otel.scope.version", "string", "1.0"),
                      tag("ratio", "float64", 0.5), tag("span.kind", "string", "client")],
             "logs": [], "processID": "p1", "warnings": None}],
         "processes": proc, "warnings": None},
        {"traceID": "d269b633813fc60c", "spans": [
            {"traceID": "d269b633813fc60c", "spanID": "aaa19b7ec3c1b174",
             "operationName": "tick", "references": [], "startTime": us, "duration": 1000,
             "tags": [tag("otel.scope.name", "string", "lib"),
                      tag("otel.scope.version", "string", "1.0")],
             "logs": [], "processID": "p1", "warnings": None}],
         "processes": proc, "warnings": None}],
        "total": 0, "limit": 0, "offset": 0, "errors": None}


def request(port, path, body=None, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body,
                                 headers={"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main():
    start = (time.time_ns() // MS - 60000) * MS
    doc = json.dumps(document(start)).encode()
    with Ottrd() as d:
        J = d.jaeger_port
        # Upload: converted, nothing stored.
        code, body = request(J, "/api/transform", doc, "POST")
        check(code == 200, "transform: %d %r" % (code, body[:200]))
        got = json.loads(body)
        check(got == transformed(start), "transform golden:\n%s" % json.dumps(got, indent=1))
        code, body = request(J, "/api/transform", b"{\"resourceSpans\": 3", "POST")
        check(code == 400 and json.loads(body)["errors"][0]["code"] == 400, "bad upload: 400")
        code, _ = request(J, "/api/transform")
        check(code == 405, "GET /api/transform: 405")
        check(request(J, "/api/traces/" + TRACE)[0] == 404, "transform stores nothing")

        # The same spans ingested: the stored trace reads the same.
        code, _ = request(d.http_port, "/v1/traces", doc, "POST")
        check(code == 200, "export")
        wait_for(lambda: request(J, "/api/traces/" + TRACE)[0] == 200, what="the trace")
        stored = json.loads(request(J, "/api/traces/" + TRACE)[1])
        want = transformed(start)["data"][0]
        check(stored["data"][0]["spans"] == want["spans"], "stored spans: sorted tags, flags")

        # Tag search as Jaeger matches: floats and arrays by the text shown, log
        # fields, error=false as a literal tag.
        def found(tags):
            path = "/api/traces?" + urllib.parse.urlencode(
                {"service": "shop", "tags": json.dumps(tags), "lookback": "1h"})
            code, body = request(J, path)
            check(code == 200, "search %r: %d %r" % (tags, code, body[:200]))
            return sorted(t["traceID"] for t in json.loads(body)["data"])
        check(found({}) == sorted([TRACE, "d269b633813fc60c"]), "both traces")
        check(found({"ratio": "0.5"}) == [TRACE], "float by its text")
        check(found({"ratio": "0.50"}) == [], "float text is exact")
        check(found({"list": '["a",1]'}) == [TRACE], "array by its JSON text")
        check(found({"exception.type": "IOError"}) == [TRACE], "log field")
        check(found({"exception.type": "IOError", "az": "a"}) == [TRACE], "log field and tag")
        check(found({"error": "false"}) == [TRACE], "error=false: the literal tag only")
        check(found({"error": "true"}) == [TRACE], "error=true: status error")
        check(found({"host.name": "h1", "error": "true"}) == [TRACE], "process tag")

        # Dependencies: counted in the minute the calls were made (half an hour
        # ago), filtered by service.
        old = (time.time_ns() // MS - 30 * 60000) * MS
        pair = [{"traceId": "%032x" % 77, "spanId": "%016x" % 1, "name": "GET /api", "kind": 3,
                 "startTimeUnixNano": str(old), "endTimeUnixNano": str(old + 5 * MS)},
                {"traceId": "%032x" % 77, "spanId": "%016x" % 2, "name": "INSERT", "kind": 3,
                 "startTimeUnixNano": str(old), "endTimeUnixNano": str(old + 5 * MS),
                 "attributes": [kv("db.system", "postgresql")]}]
        server = [{"traceId": "%032x" % 77, "spanId": "%016x" % 3, "parentSpanId": "%016x" % 1,
                   "name": "GET /api", "kind": 2, "startTimeUnixNano": str(old + MS),
                   "endTimeUnixNano": str(old + 4 * MS)}]
        rs = lambda svc, spans: {  # noqa: E731
            "resource": {"attributes": [kv("service.name", svc)]},
            "scopeSpans": [{"scope": {}, "spans": spans}]}
        code, _ = request(d.http_port, "/v1/traces", json.dumps(
            {"resourceSpans": [rs("web", pair), rs("api", server)]}).encode(), "POST")
        check(code == 200, "export pair")
        now_ms = time.time_ns() // MS

        def deps(end_ms, lookback_ms, extra=""):
            path = "/api/dependencies?endTs=%d&lookback=%d%s" % (end_ms, lookback_ms, extra)
            return sorted((x["parent"], x["child"], x["callCount"])
                          for x in json.loads(request(J, path)[1])["data"])
        wait_for(lambda: deps(now_ms, 3600000) == [("web", "api", 1)], what="the web -> api link")
        check(deps(now_ms - 25 * 60000, 10 * 60000) == [("web", "api", 1)], "in its minute")
        check(deps(now_ms, 10 * 60000) == [], "not in the last 10 minutes")
        # (The database node shows once its span waited out the pairing, ~10 s:
        # tests/query covers virtualNodes; here the parameter is taken.)
        check(("web", "api", 1) in deps(now_ms, 3600000, "&virtualNodes=true"), "virtualNodes")
        check(request(J, "/api/dependencies?virtualNodes=maybe")[0] == 400, "virtualNodes=maybe")
        check(deps(now_ms, 3600000, "&service=api") == [("web", "api", 1)], "service filter")

        # A server span right under another service's server span (no client span
        # between): a call for Jaeger, from the kept trace; not in Tempo's graph.
        gw = [{"traceId": "%032x" % 78, "spanId": "%016x" % 1, "name": "GET /", "kind": 2,
               "startTimeUnixNano": str(old), "endTimeUnixNano": str(old + 9 * MS)}]
        inner = [{"traceId": "%032x" % 78, "spanId": "%016x" % 2, "parentSpanId": "%016x" % 1,
                  "name": "GET /inner", "kind": 2, "startTimeUnixNano": str(old + MS),
                  "endTimeUnixNano": str(old + 5 * MS)}]
        code, _ = request(d.http_port, "/v1/traces", json.dumps(
            {"resourceSpans": [rs("gw", gw), rs("inner", inner)]}).encode(), "POST")
        check(code == 200, "export server pair")
        wait_for(lambda: ("gw", "inner", 1) in deps(now_ms, 3600000), what="gw -> inner")
        check(deps(now_ms - 25 * 60000, 10 * 60000) == [("gw", "inner", 1), ("web", "api", 1)],
              "direct link in its minute")
        code, body = request(d.query_port, "/api/service-graph?start=%d&end=%d" % (
            now_ms // 1000 - 3600, now_ms // 1000))
        check(code == 200 and all(e["server"] != "inner" for e in json.loads(body)["edges"]),
              "not an edge of Tempo's service graph: %r" % body)
        check(deps(now_ms, 3600000, "&service=nobody") == [], "service filter: none")

        # api_v3 (newer UIs): protobuf JSON shapes.
        v3 = lambda path: (lambda r: (r[0], json.loads(r[1])))(request(J, path))  # noqa: E731
        code, ops = v3("/api/v3/operations?service=shop")
        check(code == 200 and ops == {"operations": [
            {"name": "GET /cart", "spanKind": "server"}, {"name": "SELECT", "spanKind": "client"},
            {"name": "tick"}]}, "v3 operations: %r" % ops)
        check(v3("/api/v3/operations?service=shop&span_kind=client")[1] ==
              {"operations": [{"name": "SELECT", "spanKind": "client"}]}, "v3 span_kind")
        check(v3("/api/v3/operations?service=nobody") == (200, {}), "v3 no operations: {}")
        code, svcs = v3("/api/v3/services")
        check(code == 200 and "shop" in svcs["services"], "v3 services")
        for tid in (SHORT, "d269b633813fc60c", "D269B633813FC60C"):
            code, tr = v3("/api/v3/traces/" + tid)
            spans = [x for rs in tr["result"]["resourceSpans"] for ss in rs["scopeSpans"]
                     for x in ss["spans"]]
            check(code == 200 and [x["traceId"] for x in spans] == [SHORT],
                  "v3 trace %s: hex traceId of 32 digits" % tid)
        code, e = v3("/api/v3/traces/" + "f" * 32)
        check(code == 404 and e["error"]["httpCode"] == 404, "v3 trace not found: %r" % e)
        code, e = v3("/api/v3/traces?query.service_name=nobody")
        check(code == 404 and e["error"]["message"] == "No traces found", "v3 search none: %r" % e)
        code, e = v3("/api/v3/traces/xyz")
        check(code == 400 and e["error"]["httpCode"] == 400, "v3 bad trace_id")

        # Compare view: one side missing.
        path = "/api/traces?traceID=%s&traceID=%s" % (TRACE, "ffffffffffffffff")
        code, body = request(J, path)
        res = json.loads(body)
        check(code == 200 and len(res["data"]) == 1, "one trace found: %d" % code)
        check(res["errors"] == [{"msg": "trace not found", "traceID": "ffffffffffffffff"}],
              "missing entry: %r" % res["errors"])
        code, body = request(J, "/api/traces?traceID=abc&traceID=ABCDEF0123456789ABCDEF0123456789")
        res = json.loads(body)
        check(code == 200 and res["data"] == [], "none found: still 200")
        check([e["traceID"] for e in res["errors"]] ==
              ["0000000000000abc", "abcdef0123456789abcdef0123456789"], "IDs as Jaeger prints")

        # prettyPrint: Go's MarshalIndent with four spaces.
        code, body = request(J, "/api/traces?traceID=abc&prettyPrint=true")
        check(body.decode() == json.dumps(json.loads(body), indent=4, separators=(",", ": ")),
              "prettyPrint layout: %r" % body[:200])
        code, body = request(J, "/api/services?prettyPrint=false")
        check(b"\n" not in body, "prettyPrint=false is compact")
    print("ok")


if __name__ == "__main__":
    main()
