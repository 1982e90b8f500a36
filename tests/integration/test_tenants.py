"""tests/integration/test_tenants.py - tenants as Grafana Tempo keeps them apart
(multitenancy_enabled, X-Scope-OrgID). Two tenants write the SAME trace ID with
different content, over OTLP/HTTP and OTLP/gRPC; every query endpoint of the
Tempo API (:3200) and of the Jaeger API (:16686) then shows each tenant only its
own: trace by ID (v1, v2), search by tags and TraceQL, tag names and values (v1,
v2), the service graph, services, operations, trace search, dependencies, the
Monitor tab's span metrics, the Zipkin API, and /metrics labels. Requests without the header are refused (401 / UNAUTHENTICATED),
a tenant over its span rate gets 429 / RESOURCE_EXHAUSTED while another is
served, and a kill -9 with undecided traces of both tenants replays each into
its own tenant."""
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

SHARED = "7e5a1e7e5a1e7e5a1e7e5a1e7e5a1e01"   # written by both tenants
GRPC_TRACE = "7e5a1e7e5a1e7e5a1e7e5a1e7e5a1e02"
UNDECIDED = "7e5a1e7e5a1e7e5a1e7e5a1e7e5a1e03"  # no root span: waits for decision_wait
MS = 1000000

# What each tenant writes: its services, span names and an attribute only it has.
TENANTS = {
    "acme": {"client": "shop", "server": "payments", "op": "checkout", "attr": "acme.only"},
    "globex": {"client": "bank", "server": "ledger", "op": "transfer", "attr": "globex.only"},
}


def kv(k, v):
    return {"key": k, "value": {"stringValue": v}}


def span(trace, sid, parent, name, kind, start, dur_ms, attrs=()):
    s = {"traceId": trace, "spanId": sid, "name": name, "kind": kind,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + dur_ms * MS),
         "attributes": list(attrs)}
    if parent:
        s["parentSpanId"] = parent
    return s


def body_for(tenant, trace, now, root=True):
    t = TENANTS[tenant]
    a = [kv(t["attr"], tenant)]
    parent = None if root else "0f0f0f0f0f0f0f0f"
    cli = [span(trace, "a000000000000001", parent, t["op"], 2, now, 80, a),
           span(trace, "a000000000000002", "a000000000000001", t["op"] + " call", 3,
                now + MS, 50, a)]
    srv = [span(trace, "a000000000000003", "a000000000000002", t["op"] + " call", 2,
                now + 2 * MS, 40, a)]
    return {"resourceSpans": [
        {"resource": {"attributes": [kv("service.name", t["client"])]},
         "scopeSpans": [{"scope": {}, "spans": cli}]},
        {"resource": {"attributes": [kv("service.name", t["server"])]},
         "scopeSpans": [{"scope": {}, "spans": srv}]}]}


def request(port, path, tenant=None, body=None, headers=None):
    h = dict(headers or {})
    if tenant is not None:
        h["X-Scope-OrgID"] = tenant
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, headers=h,
                                 method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def get_json(port, path, tenant, want=200):
    code, body, _ = request(port, path, tenant)
    check(code == want, "%s as %s: status %d, want %d: %r" % (path, tenant, code, want, body[:300]))
    return json.loads(body) if body else None


def send(d, tenant, body, want=200):
    code, resp, hdrs = request(d.http_port, "/v1/traces", tenant, body)
    check(code == want, "export as %s: %d, want %d: %r" % (tenant, code, want, resp[:200]))
    return hdrs


def grpc_python():
    """The SDK venv's Python when it has grpc (the OpenTelemetry exporters'), else None."""
    py = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk", ".venv", "bin", "python")
    if not os.path.exists(py):
        return None
    ok = subprocess.run([py, "-c", "import grpc, opentelemetry.proto"],
                        capture_output=True).returncode == 0
    return py if ok else None


GRPC_EXPORT = r"""
import json, sys, grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
port, tenant, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
token = sys.argv[4] if len(sys.argv) > 4 else ""
req = ts.ExportTraceServiceRequest()
json_format.ParseDict(body, req)
ch = grpc.insecure_channel("127.0.0.1:" + port)
call = ch.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                      request_serializer=lambda m: m.SerializeToString(),
                      response_deserializer=lambda b: b)
md = [("x-scope-orgid", tenant)] if tenant else []
if token:
    md.append(("authorization", "Bearer " + token))
try:
    call(req, metadata=md, timeout=10)
    print("OK")
except grpc.RpcError as e:
    print(e.code().name)
"""


def grpc_export(py, d, tenant, body, token=None):
    # OTLP/JSON IDs are hex; protobuf's JSON mapping wants base64.
    import base64
    conv = json.loads(json.dumps(body))
    for rs in conv["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                for f in ("traceId", "spanId", "parentSpanId"):
                    if f in s:
                        s[f] = base64.b64encode(bytes.fromhex(s[f])).decode()
    r = subprocess.run([py, "-c", GRPC_EXPORT, str(d.grpc_port), tenant or "", json.dumps(conv)]
                       + ([token] if token else []), capture_output=True, text=True, timeout=60)
    return r.stdout.strip() or r.stderr.strip()


def services_of_trace(doc):
    """Service names in a Tempo v1 ({"batches"}) or v2 ({"trace"}) JSON trace."""
    batches = doc.get("batches") or doc.get("trace", {}).get("resourceSpans", [])
    out = set()
    for b in batches:
        for a in b["resource"]["attributes"]:
            if a["key"] == "service.name":
                out.add(a["value"]["stringValue"])
    return out


def tempo_checks(d, me, other, now_s):
    P = d.query_port
    mine, theirs = TENANTS[me], TENANTS[other]
    mine_svcs = {mine["client"], mine["server"]}
    for path in ("/api/traces/" + SHARED, "/api/v2/traces/" + SHARED):
        doc = get_json(P, path, me)
        check(services_of_trace(doc) == mine_svcs,
              "%s %s: services %r" % (me, path, services_of_trace(doc)))
    code, body, _ = request(P, "/api/traces/" + SHARED, me, headers={"Accept": "application/protobuf"})
    check(code == 200 and mine["client"].encode() in body and theirs["client"].encode() not in body,
          "%s: protobuf trace by ID holds only its own spans" % me)

    rng = "&start=%d&end=%d" % (now_s - 3600, now_s + 3600)
    for svc, want in ((mine["client"], 1), (theirs["client"], 0)):
        r = get_json(P, "/api/search?" + urllib.parse.urlencode({"tags": "service.name=" + svc})
                     + rng, me)
        check(len(r["traces"]) >= want and (want or not r["traces"]),
              "%s: tag search for %s found %d" % (me, svc, len(r["traces"])))
        r = get_json(P, "/api/search?" + urllib.parse.urlencode(
            {"q": '{ resource.service.name = "%s" }' % svc}) + rng, me)
        check(bool(r["traces"]) == bool(want), "%s: TraceQL for %s" % (me, svc))
    r = get_json(P, "/api/search?" + urllib.parse.urlencode({"q": "{ }"}) + rng, me)
    check(r["traces"] and all(t["rootServiceName"] in mine_svcs for t in r["traces"]),
          "%s: TraceQL {} sees only its traces: %r" % (me, r["traces"]))

    tags = get_json(P, "/api/search/tags", me)["tagNames"]
    check(mine["attr"] in tags and theirs["attr"] not in tags, "%s: v1 tags %r" % (me, tags))
    v2 = get_json(P, "/api/v2/search/tags", me)
    names = {t for s in v2["scopes"] for t in s["tags"]}
    check(mine["attr"] in names and theirs["attr"] not in names, "%s: v2 tags" % me)
    vals = get_json(P, "/api/search/tag/service.name/values", me)["tagValues"]
    check(set(vals) == mine_svcs, "%s: v1 service.name values %r" % (me, vals))
    vals = get_json(P, "/api/v2/search/tag/resource.service.name/values", me)["tagValues"]
    check({v["value"] for v in vals} == mine_svcs, "%s: v2 values %r" % (me, vals))

    g = get_json(P, "/api/service-graph?start=%d&end=%d" % (now_s - 3600, now_s + 120), me)
    nodes = {n["service"] for n in g["nodes"]}
    check(mine_svcs <= nodes and not nodes & {theirs["client"], theirs["server"]},
          "%s: service graph nodes %r" % (me, nodes))
    check(any(e["client"] == mine["client"] and e["server"] == mine["server"] for e in g["edges"]),
          "%s: its edge" % me)


def jaeger_checks(d, me, other, now_s):
    J = d.jaeger_port
    mine, theirs = TENANTS[me], TENANTS[other]
    mine_svcs = {mine["client"], mine["server"]}
    svcs = get_json(J, "/api/services", me)["data"]
    check(set(svcs) == mine_svcs, "%s: jaeger services %r" % (me, svcs))
    check(set(get_json(J, "/api/v3/services", me)["services"]) == mine_svcs, "%s: v3 services" % me)
    ops = get_json(J, "/api/services/%s/operations" % mine["client"], me)["data"]
    check(mine["op"] in ops, "%s: operations %r" % (me, ops))
    ops = get_json(J, "/api/services/%s/operations" % theirs["client"], me)["data"]
    check(not ops, "%s: the other tenant's service has no operations here: %r" % (me, ops))
    ops = get_json(J, "/api/operations?service=" + mine["client"], me)["data"]
    check({o["name"] for o in ops} >= {mine["op"]}, "%s: detailed operations" % me)
    window = "&start=%d&end=%d" % ((now_s - 3600) * 1000000, (now_s + 3600) * 1000000)
    found = get_json(J, "/api/traces?service=%s%s" % (mine["client"], window), me)["data"]
    check(found and all(p["serviceName"] in mine_svcs for t in found
                        for p in t["processes"].values()), "%s: jaeger search" % me)
    found = get_json(J, "/api/traces?service=%s%s" % (theirs["client"], window), me)["data"]
    check(not found, "%s: no trace of the other tenant's service" % me)
    t = get_json(J, "/api/traces/" + SHARED, me)["data"][0]
    check({p["serviceName"] for p in t["processes"].values()} == mine_svcs,
          "%s: jaeger trace by ID" % me)
    v3 = get_json(J, "/api/v3/traces/" + SHARED, me)["result"]["resourceSpans"]
    check(services_of_trace({"batches": v3}) == mine_svcs, "%s: v3 trace by ID" % me)
    deps = get_json(J, "/api/dependencies?endTs=%d&lookback=3600000" % ((now_s + 120) * 1000),
                    me)["data"]
    pairs = {(x["parent"], x["child"]) for x in deps}
    check((mine["client"], mine["server"]) in pairs and
          (theirs["client"], theirs["server"]) not in pairs, "%s: dependencies %r" % (me, pairs))

    # The Monitor tab's series: the tenant's own span metrics only.
    def calls(svc):
        m = get_json(J, "/api/metrics/calls?service=%s&spanKind=server&spanKind=client"
                     "&endTs=%d&lookback=3600000&step=60000&ratePer=60000"
                     % (svc, (now_s + 120) * 1000), me)
        return sum(p.get("gaugeValue", {}).get("doubleValue", 0)
                   for s in m.get("metrics", []) for p in s.get("metricPoints", []))
    wait_for(lambda: calls(mine["client"]) > 0, what="%s: monitor calls" % me)
    check(calls(theirs["client"]) == 0, "%s: the other tenant's span metrics" % me)


def zipkin_checks(d, now):
    """Zipkin spans and Zipkin queries are the tenant's too."""
    span = [{"traceId": "7e5a1e7e5a1e7e5a1e7e5a1e7e5a1e09", "id": "b000000000000001",
             "name": "zget", "kind": "SERVER", "timestamp": now // 1000, "duration": 1000,
             "localEndpoint": {"serviceName": "zshop"}}]
    code, body, _ = request(d.zipkin_port, "/api/v2/spans", None, span)
    check(code == 401, "zipkin spans without a tenant: %d %r" % (code, body[:200]))
    code, body, _ = request(d.zipkin_port, "/api/v2/spans", "acme", span)
    check(code == 202, "zipkin spans as acme: %d %r" % (code, body[:200]))
    wait_for(lambda: "zshop" in get_json(d.zipkin_port, "/api/v2/services", "acme"),
             what="acme's zipkin service")
    check("zshop" not in get_json(d.zipkin_port, "/api/v2/services", "globex"),
          "globex must not see acme's zipkin service")
    code, _, _ = request(d.zipkin_port, "/api/v2/trace/7e5a1e7e5a1e7e5a1e7e5a1e7e5a1e09",
                         "globex")
    check(code == 404, "globex must not read acme's zipkin trace: %d" % code)


def refusals(d, py):
    code, body, _ = request(d.http_port, "/v1/traces", None, body_for("acme", SHARED, time.time_ns()))
    check(code == 401 and b"X-Scope-OrgID" in body, "export without a tenant: %d %r" % (code, body))
    code, _, _ = request(d.http_port, "/v1/traces", "a|b", body_for("acme", SHARED, time.time_ns()))
    check(code == 400, "export naming two tenants: %d" % code)
    code, _, _ = request(d.http_port, "/v1/traces", "bad tenant", body_for("acme", SHARED, 1))
    check(code == 400, "export with an invalid tenant: %d" % code)
    for port, path in ((d.query_port, "/api/search"), (d.query_port, "/api/traces/" + SHARED),
                       (d.query_port, "/api/search/tags"), (d.jaeger_port, "/api/services"),
                       (d.jaeger_port, "/api/traces/" + SHARED), (d.jaeger_port, "/api/v3/services")):
        code, body, _ = request(port, path)
        check(code == 401, "%s without a tenant: %d" % (path, code))
    if py:
        r = grpc_export(py, d, None, body_for("acme", GRPC_TRACE, time.time_ns()))
        check(r == "UNAUTHENTICATED", "gRPC export without x-scope-orgid: %s" % r)
    # A tenant that never wrote sees nothing.
    code, _, _ = request(d.query_port, "/api/traces/" + SHARED, "nobody")
    check(code == 404, "unknown tenant: trace by ID 404, got %d" % code)
    check(get_json(d.jaeger_port, "/api/services", "nobody")["data"] in ([], None),
          "unknown tenant: no services")
    m = request(d.query_port, "/metrics")[1].decode()
    check('ottr_tenant_refused_requests_total{reason="missing"}' in m, "refusals counted")


def limits(d, py):
    """'tiny' may send 1 span a second (burst 10): a second request at once is
    refused with 429 and Retry-After (gRPC: RESOURCE_EXHAUSTED), while acme is
    served."""
    now = time.time_ns()
    send(d, "tiny", body_for("acme", "7e5a1e7e5a1e7e5a1e7e5a1e7e5a1e10", now))
    body = body_for("acme", "7e5a1e7e5a1e7e5a1e7e5a1e7e5a1e11", now)
    body["resourceSpans"] *= 3  # 9 spans
    code, resp, hdrs = request(d.http_port, "/v1/traces", "tiny", body)
    check(code == 429 and hdrs.get("Retry-After") == "1", "tiny over its rate: %d %r" % (code, hdrs))
    if py:
        r = grpc_export(py, d, "tiny", body)
        check(r == "RESOURCE_EXHAUSTED", "gRPC export over the tenant's rate: %s" % r)
    send(d, "acme", body_for("acme", "7e5a1e7e5a1e7e5a1e7e5a1e7e5a1e12", now))
    m = request(d.query_port, "/metrics")[1].decode()
    check('ottr_tenant_limited_spans_total{tenant="tiny",reason="rate"} %d' % (18 if py else 9)
          in m,
          "limited spans counted by tenant")


def cli_checks(d):
    """ottr --tenant sends X-Scope-OrgID; without it the daemon refuses (exit 4)."""
    ottr = os.environ.get("OTTR")
    if not ottr:
        return
    server = "http://127.0.0.1:%d" % d.query_port
    for t in TENANTS:
        r = subprocess.run([ottr, "services", "--server", server, "--tenant", t],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and set(r.stdout.split()) == {TENANTS[t]["client"],
                                                              TENANTS[t]["server"]},
              "ottr services --tenant %s: %d %r %r" % (t, r.returncode, r.stdout, r.stderr))
    r = subprocess.run([ottr, "services", "--server", server], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 4, "ottr services without a tenant: exit %d" % r.returncode)


def metrics_labels(d):
    m = request(d.query_port, "/metrics")[1].decode()
    for t in ("acme", "globex"):
        check('traces_spanmetrics_calls_total{tenant="%s",service="%s"' % (t, TENANTS[t]["client"])
              in m, "span metrics labelled by tenant %s" % t)
        check('ottr_receiver_spans_total{tenant="%s",protocol="http",result="accepted"}' % t in m,
              "receiver spans labelled by tenant %s" % t)
    check('traces_spanmetrics_calls_total{tenant="acme",service="bank"' not in m,
          "no series of one tenant's service under the other")


def main():
    py = grpc_python()
    d = Ottrd()
    d.args = ["--config", write_config(d.tmp, "1h")]
    d.start()
    try:
        now = time.time_ns()
        now_s = now // 1000000000
        for t in TENANTS:
            send(d, t, body_for(t, SHARED, now))
        if py:
            r = grpc_export(py, d, "acme", body_for("acme", GRPC_TRACE, now))
            check(r == "OK", "gRPC export with x-scope-orgid: %s" % r)
        refusals(d, py)
        for t in TENANTS:
            wait_for(lambda: request(d.query_port, "/api/traces/" + SHARED, t)[0] == 200,
                     what="trace kept for " + t)
        if py:
            wait_for(lambda: request(d.query_port, "/api/traces/" + GRPC_TRACE, "acme")[0] == 200,
                     what="gRPC trace kept for acme")
            check(request(d.query_port, "/api/traces/" + GRPC_TRACE, "globex")[0] == 404,
                  "acme's gRPC trace is not globex's")
        # Edges are persisted every second.
        wait_for(lambda: len(get_json(d.jaeger_port, "/api/dependencies?endTs=%d&lookback=3600000"
                                      % ((now_s + 120) * 1000), "globex")["data"]) > 0,
                 what="dependencies persisted")
        for me, other in (("acme", "globex"), ("globex", "acme")):
            tempo_checks(d, me, other, now_s)
            jaeger_checks(d, me, other, now_s)
        metrics_labels(d)
        cli_checks(d)
        limits(d, py)
        zipkin_checks(d, time.time_ns())

        # Undecided traces of both tenants (no root: they wait for decision_wait,
        # an hour), then kill -9: the restart replays each into its own tenant.
        later = time.time_ns()
        for t in TENANTS:
            send(d, t, body_for(t, UNDECIDED, later, root=False))
        d.kill9()
        d.args = ["--config", write_config(d.tmp, "1s")]
        d.start()
        for t in TENANTS:
            wait_for(lambda: request(d.query_port, "/api/traces/" + UNDECIDED, t)[0] == 200,
                     what="replayed trace of " + t)
            doc = get_json(d.query_port, "/api/traces/" + UNDECIDED, t)
            want = {TENANTS[t]["client"], TENANTS[t]["server"]}
            check(services_of_trace(doc) == want, "%s after replay: %r" % (t, services_of_trace(doc)))
            # What was kept before the crash is still each tenant's own.
            doc = get_json(d.query_port, "/api/traces/" + SHARED, t)
            check(services_of_trace(doc) == want, "%s after restart: shared trace" % t)
        d.stop()
    except BaseException:
        d.dump_log()
        raise
    finally:
        d.cleanup()
    print("ok")


def write_config(tmp, decision_wait):
    path = os.path.join(tmp, "ottr-%s.yaml" % decision_wait)
    with open(path, "w") as f:
        f.write("multitenancy_enabled: true\n"
                "sampling:\n"
                "  decision_wait: %s\n"
                "  decision_wait_after_root: 100ms\n"
                "overrides:\n"
                "  per_tenant:\n"
                "    tiny:\n"
                "      ingestion: {rate_limit_spans: 1, burst_size_spans: 10}\n" % decision_wait)
    return path


if __name__ == "__main__":
    main()
