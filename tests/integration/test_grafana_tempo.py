"""tests/integration/test_grafana_tempo.py - the requests Grafana's Tempo
datasource makes, replayed against ottrd and compared with golden answers
(data/grafana/*.json, OTTR_UPDATE_GOLDEN=1 rewrites them), with the datasource's
"streaming" switch off (HTTP only) and on (tempopb.StreamingQuerier over gRPC
on the same port, through stubs generated from proto/tempo/tempo.proto with
grpcio-tools): datasource test, search, trace by ID, tags, tag values narrowed
by the query being typed, TraceQL metrics. Then the gRPC edges: unknown methods
are UNIMPLEMENTED, bad queries INVALID_ARGUMENT, and with TLS, bearer tokens and
tenants on the query port a call goes over TLS, needs its token and sees only its
tenant.
Runs under the SDK venv's Python (grpcio); fails without it."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_PY = os.path.join(HERE, "sdk", ".venv", "bin", "python")
try:
    import grpc  # noqa: F401
    from grpc_tools import protoc
except ImportError:
    if os.path.realpath(sys.prefix) == os.path.realpath(os.path.dirname(os.path.dirname(VENV_PY))) \
            or not os.path.exists(VENV_PY):
        raise
    os.execv(VENV_PY, [VENV_PY] + sys.argv)

from google.protobuf import json_format  # noqa: E402

sys.path.insert(0, HERE)
import grafana_fixture as fx  # noqa: E402

SRC = os.environ.get("OTTR_SRC", os.path.dirname(os.path.dirname(HERE)))
GOLDEN = os.path.join(HERE, "data", "grafana")
UPDATE = os.environ.get("OTTR_UPDATE_GOLDEN") == "1"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def stubs():
    """tempo_pb2 and tempo_pb2_grpc generated into a temporary directory."""
    out = tempfile.mkdtemp(prefix="ottr-tempo-stubs-")
    import grpc_tools
    inc = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    rc = protoc.main(["protoc", "-I" + os.path.join(SRC, "proto"), "-I" + inc,
                      "--python_out=" + out, "--grpc_python_out=" + out, "tempo/tempo.proto"])
    check(rc == 0, "protoc on proto/tempo/tempo.proto: %d" % rc)
    sys.path.insert(0, out)
    from tempo import tempo_pb2, tempo_pb2_grpc
    return tempo_pb2, tempo_pb2_grpc


def normalize(v, base):
    """Times relative to the fixture's minute; counters that depend on timing
    or encoding replaced by "*"."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "timestampMs":
                out[k] = int(x) - base // 10**6
            elif k in ("startTimeUnixNano", "endTimeUnixNano", "timeUnixNano"):
                out[k] = int(x) - base
            elif k in ("inspectedBytes", "inspectedTraces", "totalBlockBytes"):
                out[k] = "*"
            else:
                out[k] = normalize(x, base)
        return out
    if isinstance(v, list):
        return [normalize(x, base) for x in v]
    return v


def golden(name, got, base):
    got = normalize(got, base)
    path = os.path.join(GOLDEN, name + ".json")
    text = json.dumps(got, indent=1, sort_keys=True) + "\n"
    if UPDATE or not os.path.exists(path):
        with open(path, "w") as f:
            f.write(text)
        return
    want = json.load(open(path))
    check(got == want, "%s differs from %s:\n%s" % (name, path, text[:3000]))


class Grafana:
    def __init__(self, d, base, headers=None):
        self.d, self.base, self.h = d, base, headers or {}
        self.start, self.end = base // 10**9 - 60, base // 10**9 + 120

    def get(self, path, accept=None, **params):
        h = dict(self.h)
        if accept:
            h["Accept"] = accept
        params.setdefault("start", self.start)
        params.setdefault("end", self.end)
        code, body, _ = fx.http(self.d.query_port, path + "?" + urllib.parse.urlencode(params), h)
        return code, body


def http_sequence(g, pb):
    """Streaming off: everything over HTTP."""
    code, body, _ = fx.http(g.d.query_port, "/api/echo")
    check(code == 200 and body == b"echo", "datasource test: /api/echo %d %r" % (code, body))
    for name, path, params in [
        ("search", "/api/search",
         {"q": '{resource.service.name="frontend"}', "limit": 20, "spss": 3}),
        ("tags_v2", "/api/v2/search/tags", {"scope": "resource"}),
        ("values_q", "/api/v2/search/tag/span.http.method/values",
         {"q": '{resource.service.name="frontend" && }'}),
        ("values_status", "/api/v2/search/tag/status/values", {}),
        ("values_kind", "/api/v2/search/tag/kind/values", {"q": '{resource.service.name="cart"}'}),
        ("values_float", "/api/v2/search/tag/span.ratio/values", {}),
        ("metrics_rate", "/api/metrics/query_range",
         {"q": "{} | rate() by (resource.service.name)", "step": "60s"}),
        ("metrics_instant", "/api/metrics/query",
         {"q": "{ status = error } | count_over_time() by (resource.service.name)"}),
    ]:
        code, body = g.get(path, **params)
        check(code == 200, "%s: %d %r" % (path, code, body[:300]))
        golden("http_" + name, json.loads(body), g.base)
    # Trace by ID as Grafana asks: v2, protobuf, the time picker's range.
    code, body = g.get("/api/v2/traces/" + fx.T1, accept="application/protobuf")
    check(code == 200, "trace by ID: %d" % code)
    t = pb.TraceByIDResponse.FromString(body)
    spans = [s for rs in t.trace.resource_spans for ss in rs.scope_spans for s in ss.spans]
    check(len(spans) == 3 and t.status == pb.COMPLETE, "trace by ID: %d spans" % len(spans))
    code, body = g.get("/api/v2/traces/" + fx.T1)
    golden("http_trace_v2", json.loads(body), g.base)


def messages(call, req, md):
    """Every message of a server stream and its trailing status."""
    out = []
    try:
        for m in call(req, metadata=md, timeout=20):
            out.append(m)
        return out, "OK"
    except grpc.RpcError as e:
        return out, e.code().name


def grpc_sequence(g, pb, pbg, md=()):
    """Streaming on: the datasource test and searches over gRPC."""
    ch = grpc.insecure_channel("127.0.0.1:%d" % g.d.query_port)
    stub = pbg.StreamingQuerierStub(ch)
    md = list(md)
    # The datasource test: a search for every span, one result.
    msgs, st = messages(stub.Search, pb.SearchRequest(Query="{}", Limit=1, start=g.start,
                                                      end=g.end), md)
    check(st == "OK" and len(msgs) >= 1 and len(msgs[-1].traces) == 1,
          "datasource test over gRPC: %s %r" % (st, msgs))
    last = msgs[-1].metrics
    check(last.completedJobs == last.totalJobs, "the last message completes: %r" % last)
    for name, call, req in [
        ("search", stub.Search, pb.SearchRequest(Query='{resource.service.name="frontend"}',
                                                 Limit=20, SpansPerSpanSet=3, start=g.start,
                                                 end=g.end)),
        ("tags_v2", stub.SearchTagsV2, pb.SearchTagsRequest(scope="resource", start=g.start,
                                                            end=g.end)),
        ("tags", stub.SearchTags, pb.SearchTagsRequest(scope="span")),
        ("values_q", stub.SearchTagValuesV2,
         pb.SearchTagValuesRequest(tagName="span.http.method",
                                   query='{resource.service.name="frontend" && }',
                                   start=g.start, end=g.end)),
        ("values", stub.SearchTagValues, pb.SearchTagValuesRequest(tagName="http.method")),
        ("metrics_rate", stub.MetricsQueryRange,
         pb.QueryRangeRequest(query="{} | rate() by (resource.service.name)",
                              start=g.start * 10**9, end=g.end * 10**9, step=60 * 10**9)),
        ("metrics_instant", stub.MetricsQueryInstant,
         pb.QueryInstantRequest(query="{ status = error } | count_over_time()",
                                start=g.start * 10**9, end=g.end * 10**9)),
    ]:
        msgs, st = messages(call, req, md)
        check(st == "OK" and msgs, "gRPC %s: %s" % (name, st))
        golden("grpc_" + name, json_format.MessageToDict(msgs[-1]), g.base)
    # A ranged search streams: one message per time window searched (newest first), each
    # with the traces found so far, the last complete.
    msgs, st = messages(stub.Search, pb.SearchRequest(Query="{}", Limit=20, start=g.start,
                                                      end=g.end), md)
    jobs = [(m.metrics.completedJobs, m.metrics.totalJobs, len(m.traces)) for m in msgs]
    check(st == "OK" and len(msgs) > 1 and [j[0] for j in jobs] == list(range(1, len(msgs) + 1))
          and jobs[-1][0] == jobs[-1][1] and jobs[-1][2] == 3 and
          all(jobs[i][2] <= jobs[i + 1][2] for i in range(len(jobs) - 1)),
          "streamed search (completedJobs, totalJobs, traces): %s %r" % (st, jobs))
    # The spans of a gRPC search are the HTTP search's.
    msgs, _ = messages(stub.Search, pb.SearchRequest(Query='{ status = error }', start=g.start,
                                                     end=g.end), md)
    tr = msgs[-1].traces
    check(len(tr) == 1 and tr[0].traceID == fx.T1 and tr[0].spanSets[0].matched == 1 and
          tr[0].spanSet.spans[0].spanID == "1000000000000003", "gRPC error search: %r" % tr)
    # Errors are gRPC statuses in the trailers.
    _, st = messages(stub.Search, pb.SearchRequest(Query="{ nonsense"), md)
    check(st == "INVALID_ARGUMENT", "bad TraceQL over gRPC: %s" % st)
    _, st = messages(stub.MetricsQueryRange, pb.QueryRangeRequest(query="{} | rate("), md)
    check(st == "INVALID_ARGUMENT", "bad metrics query over gRPC: %s" % st)
    unknown = ch.unary_stream("/tempopb.StreamingQuerier/NoSuchMethod",
                              request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=pb.SearchResponse.FromString)
    _, st = messages(unknown, pb.SearchRequest(), md)
    check(st == "UNIMPLEMENTED", "unknown method: %s" % st)
    other = ch.unary_stream("/tempopb.Querier/FindTraceByID",
                            request_serializer=lambda m: m.SerializeToString(),
                            response_deserializer=pb.SearchResponse.FromString)
    _, st = messages(other, pb.SearchRequest(), md)
    check(st == "UNIMPLEMENTED", "another service: %s" % st)
    ch.close()


def tenants_and_auth(pb, pbg):
    """TLS, bearer tokens and tenants on the query port hold for gRPC as for HTTP."""
    tmp = tempfile.mkdtemp(prefix="ottr-tokens-")
    tokens = os.path.join(tmp, "tokens")
    with open(tokens, "w") as f:
        f.write("tok-reader-0123456789\n")
    crt, key = os.path.join(tmp, "server.crt"), os.path.join(tmp, "server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    tls = ssl.create_default_context(cafile=crt)
    with fx.daemon("multitenancy_enabled: true\n"
                   "query:\n  auth: {type: bearer, file: %s}\n"
                   "  tls: {cert_file: %s, key_file: %s}\n" % (tokens, crt, key)) as d:
        base = fx.base_ns()
        auth = {"Authorization": "Bearer tok-reader-0123456789"}
        fx.ingest(d, base, dict(auth, **{"X-Scope-OrgID": "acme"}), tls=tls)
        g = Grafana(d, base)
        creds = grpc.ssl_channel_credentials(root_certificates=open(crt, "rb").read())
        ch = grpc.secure_channel("127.0.0.1:%d" % d.query_port, creds)
        stub = pbg.StreamingQuerierStub(ch)
        req = pb.SearchRequest(Query="{}", start=g.start, end=g.end)
        _, st = messages(stub.Search, req, [("x-scope-orgid", "acme")])
        check(st == "UNAUTHENTICATED", "gRPC search without a token: %s" % st)
        _, st = messages(stub.Search, req, [("x-scope-orgid", "acme"),
                                            ("authorization", "Bearer wrong-token-000")])
        check(st == "UNAUTHENTICATED", "gRPC search with a wrong token: %s" % st)
        tok = ("authorization", "Bearer tok-reader-0123456789")
        msgs, st = messages(stub.Search, req, [tok, ("x-scope-orgid", "acme")])
        check(st == "OK" and len(msgs[-1].traces) == 3, "acme's traces over gRPC: %s" % st)
        msgs, st = messages(stub.Search, req, [tok, ("x-scope-orgid", "globex")])
        check(st == "OK" and len(msgs[-1].traces) == 0, "globex sees none: %s %r" % (st, msgs))
        _, st = messages(stub.Search, req, [tok])
        check(st == "UNAUTHENTICATED", "no tenant with multitenancy on: %s" % st)
        ch.close()
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    pb, pbg = stubs()
    with fx.daemon() as d:
        base = fx.base_ns()
        fx.ingest(d, base)
        g = Grafana(d, base)
        http_sequence(g, pb)
        grpc_sequence(g, pb, pbg)
    tenants_and_auth(pb, pbg)
    print("ok")


if __name__ == "__main__":
    main()
