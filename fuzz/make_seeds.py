#!/usr/bin/env python3
"""fuzz/make_seeds.py - writes the seed corpora of fuzz/corpus/<target>/ from the
test data in tests/integration/data and a few hand-made requests. Python's
standard library only: OTLP protobuf is encoded here from OTLP/JSON, HTTP/2
frames and HPACK (literal fields) by hand. Run it again after changing it; the
seeds are committed."""
import base64
import gzip
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
DATA = os.path.join(ROOT, "tests", "integration", "data")


# ---------------------------------------------------------------- protobuf

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_len(field, b):
    return key(field, 2) + varint(len(b)) + b


def f_str(field, s):
    return f_len(field, s.encode()) if s else b""


def f_varint(field, v):
    return key(field, 0) + varint(int(v)) if v else b""


def f_fixed64(field, v):
    return key(field, 1) + struct.pack("<Q", int(v)) if v else b""


def f_fixed32(field, v):
    return key(field, 5) + struct.pack("<I", int(v)) if v else b""


def f_id(field, hexid):
    return f_len(field, bytes.fromhex(hexid)) if hexid else b""


def any_value(v):
    if "stringValue" in v:
        return f_len(1, v["stringValue"].encode())
    if "boolValue" in v:
        return key(2, 0) + varint(1 if v["boolValue"] else 0)
    if "intValue" in v:
        return key(3, 0) + varint(int(v["intValue"]))
    if "doubleValue" in v:
        return key(4, 1) + struct.pack("<d", float(v["doubleValue"]))
    if "arrayValue" in v:
        return f_len(5, b"".join(f_len(1, any_value(x)) for x in v["arrayValue"].get("values", [])))
    if "kvlistValue" in v:
        return f_len(6, b"".join(f_len(1, kv(x)) for x in v["kvlistValue"].get("values", [])))
    if "bytesValue" in v:
        return f_len(7, base64.b64decode(v["bytesValue"]))
    return b""


def kv(x):
    return f_str(1, x["key"]) + f_len(2, any_value(x.get("value", {})))


def attrs(field, lst):
    return b"".join(f_len(field, kv(x)) for x in lst or [])


def span(s):
    out = f_id(1, s.get("traceId")) + f_id(2, s.get("spanId")) + f_str(3, s.get("traceState"))
    out += f_id(4, s.get("parentSpanId")) + f_str(5, s.get("name")) + f_varint(6, s.get("kind", 0))
    out += f_fixed64(7, s.get("startTimeUnixNano", 0)) + f_fixed64(8, s.get("endTimeUnixNano", 0))
    out += attrs(9, s.get("attributes"))
    for e in s.get("events", []):
        out += f_len(11, f_fixed64(1, e.get("timeUnixNano", 0)) + f_str(2, e.get("name"))
                     + attrs(3, e.get("attributes")))
    for link in s.get("links", []):
        out += f_len(13, f_id(1, link.get("traceId")) + f_id(2, link.get("spanId"))
                     + attrs(4, link.get("attributes")))
    st = s.get("status")
    if st is not None:
        out += f_len(15, f_str(2, st.get("message")) + f_varint(3, st.get("code", 0)))
    out += f_fixed32(16, s.get("flags", 0))
    return out


def resource_spans(rs):
    out = b""
    if "resource" in rs:
        out += f_len(1, attrs(1, rs["resource"].get("attributes")))
    for ss in rs.get("scopeSpans", []):
        body = b""
        if "scope" in ss:
            sc = ss["scope"]
            body += f_len(1, f_str(1, sc.get("name")) + f_str(2, sc.get("version")))
        for s in ss.get("spans", []):
            body += f_len(2, span(s))
        out += f_len(2, body)
    return out + f_str(3, rs.get("schemaUrl"))


def request(doc):
    """ExportTraceServiceRequest and TracesData share field 1."""
    return b"".join(f_len(1, resource_spans(rs)) for rs in doc["resourceSpans"])


# ---------------------------------------------------------------- documents

TID = "4bf92f3577b34da6a3ce929d0e0e4736"


def small_request():
    return {"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "frontend"}},
            {"key": "host.cores", "value": {"intValue": "8"}},
            {"key": "tags", "value": {"arrayValue": {"values": [
                {"stringValue": "a"}, {"boolValue": True}, {"doubleValue": 1.5}]}}},
            {"key": "env", "value": {"kvlistValue": {"values": [
                {"key": "k", "value": {"stringValue": "v"}}]}}},
            {"key": "blob", "value": {"bytesValue": "AAEC"}}]},
        "scopeSpans": [{
            "scope": {"name": "io.opentelemetry.test", "version": "1.0"},
            "spans": [
                {"traceId": TID, "spanId": "1000000000000001", "name": "GET /cart", "kind": 2,
                 "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000150000000",
                 "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}],
                 "events": [{"timeUnixNano": "1700000000100000000", "name": "exception",
                             "attributes": [{"key": "exception.message",
                                             "value": {"stringValue": "boom"}}]}],
                 "status": {"code": 2, "message": "upstream failed"}},
                {"traceId": TID, "spanId": "1000000000000002", "parentSpanId": "1000000000000001",
                 "name": "SELECT", "kind": 3, "startTimeUnixNano": "1700000000010000000",
                 "endTimeUnixNano": "1700000000020000000",
                 "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c",
                            "spanId": "b7ad6b7169203331"}]},
                {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "2000000000000001",
                 "name": "other trace", "kind": 1, "startTimeUnixNano": "1700000001000000000",
                 "endTimeUnixNano": "1700000001000000001", "flags": 1}]}]},
        {"scopeSpans": [{"spans": [
            {"traceId": TID, "spanId": "1000000000000003", "parentSpanId": "1000000000000001",
             "name": "no resource"},
            {"traceId": "00000000000000000000000000000000", "spanId": "3000000000000001",
             "name": "zero trace id: rejected"}]}]}]}


def load(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


# ---------------------------------------------------------------- HTTP/2

def h2_frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def hpack_literal(name, value):
    def s(b):
        assert len(b) < 127
        return bytes([len(b)]) + b
    return b"\x00" + s(name.encode()) + s(value.encode())


def h2_headers(stream, method, path, extra=(), end_stream=True):
    block = hpack_literal(":method", method) + hpack_literal(":scheme", "http")
    block += hpack_literal(":path", path) + hpack_literal(":authority", "localhost:4318")
    for n, v in extra:
        block += hpack_literal(n, v)
    return h2_frame(1, 0x4 | (0x1 if end_stream else 0), stream, block)


SETTINGS = h2_frame(4, 0, 0, b"")
SETTINGS_ACK = h2_frame(4, 1, 0, b"")


# ---------------------------------------------------------------- writing

# ---------------------------------------------------------------- Zipkin

ZIPKIN_KINDS = {"CLIENT": 1, "SERVER": 2, "PRODUCER": 3, "CONSUMER": 4}


def zipkin_endpoint(e):
    import ipaddress
    out = f_str(1, e.get("serviceName", ""))
    if "ipv4" in e:
        out += f_len(2, ipaddress.IPv4Address(e["ipv4"]).packed)
    if "ipv6" in e:
        out += f_len(3, ipaddress.IPv6Address(e["ipv6"]).packed)
    return out + f_varint(4, e.get("port", 0))


def zipkin_span_pb(s):
    """One zipkin.proto3 Span from its JSON v2 form."""
    out = f_id(1, s["traceId"].rjust(16 if len(s["traceId"]) <= 16 else 32, "0"))
    out += f_id(2, s.get("parentId", "").rjust(16, "0") if s.get("parentId") else "")
    out += f_id(3, s["id"].rjust(16, "0"))
    out += f_varint(4, ZIPKIN_KINDS.get(s.get("kind"), 0)) + f_str(5, s.get("name", ""))
    out += f_fixed64(6, s.get("timestamp", 0)) + f_varint(7, s.get("duration", 0))
    for field, name in ((8, "localEndpoint"), (9, "remoteEndpoint")):
        if name in s:
            out += f_len(field, zipkin_endpoint(s[name]))
    for a in s.get("annotations", []):
        out += f_len(10, f_fixed64(1, a["timestamp"]) + f_str(2, a["value"]))
    for k, v in s.get("tags", {}).items():
        out += f_len(11, f_str(1, k) + f_str(2, v))
    return out + f_varint(12, s.get("debug", False)) + f_varint(13, s.get("shared", False))


def zipkin_seeds():
    t = 1700000000000000
    full = [
        {"traceId": "463ac35c9f6413ad48485a3953bb6124", "id": "a2fb4a1d1a96d312",
         "name": "get /api", "kind": "SERVER", "timestamp": t, "duration": 2000, "debug": True,
         "localEndpoint": {"serviceName": "web", "ipv4": "10.0.0.1", "port": 8080},
         "remoteEndpoint": {"ipv6": "2001:db8::1", "port": 51000},
         "annotations": [{"timestamp": t + 5, "value": "wr"}],
         "tags": {"http.method": "GET", "error": "boom", "telemetry.sdk.language": "java",
                  "otel.library.name": "lib", "otel.library.version": "1"}},
        {"traceId": "463ac35c9f6413ad48485a3953bb6124", "parentId": "a2fb4a1d1a96d312",
         "id": "b3", "name": "query", "kind": "CLIENT", "timestamp": t + 10, "duration": 50,
         "localEndpoint": {"serviceName": "web"},
         "remoteEndpoint": {"serviceName": "db", "ipv4": "10.0.0.9", "port": 5432},
         "tags": {"otel.status_code": "OK"}},
        {"traceId": "463ac35c9f6413ad48485a3953bb6124", "parentId": "a2fb4a1d1a96d312",
         "id": "b3", "name": "query", "kind": "SERVER", "shared": True, "timestamp": t + 12,
         "duration": 40, "localEndpoint": {"serviceName": "db"}},
    ]
    small = [{"traceId": "1", "id": "2", "kind": "PRODUCER"},
             {"traceId": "1", "id": "3", "parentId": "3", "kind": "CONSUMER", "timestamp": 1}]
    write("zipkin", "full.json", json.dumps(full))
    write("zipkin", "small.json", json.dumps(small))
    write("zipkin", "empty.json", "[]")
    ep = {"serviceName": "front", "ipv4": "10.0.0.1"}
    v1 = [{"traceId": "5", "id": "6", "name": "rpc", "timestamp": t, "duration": 60,
           "annotations": [{"timestamp": t, "value": "cs", "endpoint": ep},
                           {"timestamp": t + 10, "value": "sr", "endpoint": {"serviceName": "back"}},
                           {"timestamp": t + 50, "value": "ss", "endpoint": {"serviceName": "back"}},
                           {"timestamp": t + 20, "value": "cache"},
                           {"timestamp": t + 60, "value": "cr", "endpoint": ep}],
           "binaryAnnotations": [{"key": "sa", "value": True, "endpoint": {"serviceName": "back",
                                                                            "port": 80}},
                                 {"key": "http.path", "value": "/x", "endpoint": ep},
                                 {"key": "n", "value": 5}]},
          {"traceId": "5", "id": "7", "parentId": "6", "name": "mq",
           "annotations": [{"timestamp": t + 70, "value": "ms", "endpoint": ep}],
           "binaryAnnotations": [{"key": "ma", "value": True, "endpoint": {"serviceName": "kafka"}},
                                 {"key": "lc", "value": "worker"}]}]
    write("zipkin", "v1.json", json.dumps(v1))
    write("zipkin", "full.pb", b"".join(f_len(1, zipkin_span_pb(s)) for s in full))
    write("zipkin", "small.pb", b"".join(f_len(1, zipkin_span_pb(s)) for s in small))


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    docs = {"small": small_request(), "checkout": load("cli_checkout_trace.json"),
            "health": load("cli_health_trace.json")}
    pb = {k: request(v) for k, v in docs.items()}

    # OTLP protobuf requests and stored chunks (the same framing: field 1).
    for k, v in pb.items():
        write("otlp_proto", k + ".pb", v)
        write("trace_chunk", k + ".pb", v)
    write("otlp_proto", "empty.pb", b"")
    zipkin_seeds()
    write("trace_chunk", "two_chunks.pb", pb["small"] + pb["health"])

    # OTLP/JSON requests and trace documents.
    for k, v in docs.items():
        write("otlp_json", k + ".json", json.dumps(v))
    write("otlp_json", "tempo_batches.json", json.dumps({"batches": docs["health"]["resourceSpans"]}))
    write("otlp_json", "tempo_v2.json", json.dumps({"trace": {"resourceSpans": docs["small"]["resourceSpans"]}}))
    write("otlp_json", "jaeger_v3.json", json.dumps({"result": {"resourceSpans": []}}))
    write("otlp_json", "old_names.json",
          '{"resource_spans":[{"instrumentationLibrarySpans":[{"instrumentationLibrary":'
          '{"name":"x"},"spans":[{"trace_id":"S/kvNXezTaajzpKdDg5HNg==","span_id":"EAAAAAAAAAE=",'
          '"name":"b64 ids","kind":"SPAN_KIND_SERVER","status":{"code":"error"},'
          '"start_time_unix_nano":1700000000000000000}]}]}]}')
    write("otlp_json", "empty.json", "{}")

    # TraceQL queries.
    queries = [
        "{}", "{ true }", "{ span.http.status_code >= 500 }", '{ .http.method = "GET" }',
        '{ resource.service.name = "frontend" && name =~ "GET.*" }',
        "{ kind = server } && { kind = client }", "{ status = error } || { duration > 100ms }",
        "{ !(status = error) }", "{ traceDuration > 1.5s && traceDuration <= 1h30m }",
        '{ rootName = "GET /cart" && rootServiceName = "frontend" }',
        '{ statusMessage != "" }', "{ span.ratio > 0.5 && span.n != -3 }",
        "{ .retry = true && .other = false }", "{ .x = nil } || { .y != nil }",
        '{ span."attr with spaces" = `raw \\ string` }', '{ name !~ "/health" }',
        "{ .a = 1 } >> { .b = 2 }", "{ duration * 2 > 1s }",
    ]
    for i, q in enumerate(queries):
        write("traceql", "q%02d.tql" % i, q)

    # Query parameters, IDs and times.
    params = [
        "limit=20&start=1700000000&end=1700003600&spss=3",
        "q=%7B%20.a%20%3D%201%20%7D&minDuration=1.5s&maxDuration=2m30s",
        "tags%5Bhttp.method%5D=GET&tags[service.name]=front+end",
        "endTs=1700000000000&lookback=3600000&start=1700000000000000&end=1700000000000001",
        "query.start_time_min=2024-05-01T10:00:00.123456789%2B02:00&query.attributes[k]=v",
        "/api/traces/4bf92f3577b34da6a3ce929d0e0e4736",
        "/api/v2/search/tag/resource.service.name/values",
        "4bf92f3577b34da6a3ce929d0e0e4736", "abc", "2024-05-01", "2024-05-01t10:00:00z",
        "1h2m3.5s", "64MiB", "S/kvNXezTaajzpKdDg5HNg==", "18446744073709551615",
    ]
    for i, p in enumerate(params):
        write("params", "p%02d.txt" % i, p)

    # Config files.
    with open(os.path.join(ROOT, "examples", "ottr.yaml")) as f:
        write("config", "example.yaml", f.read())
    write("config", "small.yaml", "log_level: debug\nhttp:\n  addr: 127.0.0.1:0\n"
          "store: {sync: always, retention: 0}\nsampling:\n  num_traces: 10\n  policies: []\n")
    write("config", "bad.yaml", "grpc:\n  threads: 0\n  max_recv_msg_size: 1KB\n")
    write("config", "anchors.yaml", "a: &x {b: [1, 2, {c: d}]}\ne: *x\n? complex\n: 'quoted'\n")

    # gzip bodies.
    body = pb["small"]
    write("gzip", "request.gz", gzip.compress(body))
    write("gzip", "json.gz", gzip.compress(json.dumps(docs["health"]).encode()))
    write("gzip", "two_members.gz", gzip.compress(b"first\n") + gzip.compress(b"second\n"))
    write("gzip", "empty.gz", gzip.compress(b""))
    write("gzip", "zeros.gz", gzip.compress(bytes(200000)))

    # HTTP/1.1 connections; the first byte is the read size (0: whole reads).
    jbody = json.dumps(docs["health"])
    gz = gzip.compress(jbody.encode())
    h1 = {
        "get": "GET /api/traces/4bf92f3577b34da6a3ce929d0e0e4736?limit=5 HTTP/1.1\r\n"
               "Host: localhost:3200\r\nAccept: application/json\r\n\r\n",
        "post_json": "POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                     "application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(jbody), jbody),
        "chunked": "POST /v1/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
        "pipelined": "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /big HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\nGET /headers?text/html HTTP/1.1\r\n"
                     "X-Custom: v\r\nHost: x\r\n\r\n",
        "expect": "POST /v1/traces HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  "Content-Length: 4\r\n\r\nbody",
        "http10": "GET /big HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
        "upgrade": "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                   "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        "too_large": "POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nxx",
        "absolute": "GET http://example.com/api/search?q=%7B%7D#frag HTTP/1.1\r\nHost: x\r\n\r\n",
        "bad": "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    }
    for k, v in h1.items():
        write("http1", k + ".txt", b"\x00" + v.encode())
    write("http1", "get_bytewise.txt", b"\x01" + h1["pipelined"].encode())
    write("http1", "gzip_body.txt", b"\x07" + ("POST /v1/traces HTTP/1.1\r\nHost: x\r\n"
          "Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(gz)).encode() + gz)
    write("http1", "h2_preface.txt", b"\x05PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SETTINGS)

    # h2c frames after the preface (the target adds it); first byte: read size.
    h2 = {
        "get": SETTINGS + h2_headers(1, "GET", "/api/search?q=%7B%7D&limit=3"),
        "post": SETTINGS + SETTINGS_ACK
        + h2_headers(1, "POST", "/v1/traces", [("content-type", "application/json"),
                                               ("content-length", str(len(jbody)))], False)
        + h2_frame(0, 1, 1, jbody.encode()),
        "gzip": SETTINGS + h2_headers(3, "POST", "/v1/traces", [("content-encoding", "gzip")], False)
        + h2_frame(0, 0, 3, gz[:100]) + h2_frame(0, 1, 3, gz[100:]),
        "many": SETTINGS + b"".join(h2_headers(2 * i + 1, "GET", "/big" if i % 2 else "/headers?x")
                                    for i in range(6))
        + h2_frame(6, 0, 0, b"12345678") + h2_frame(8, 0, 0, struct.pack(">I", 65535))
        + h2_frame(3, 0, 1, struct.pack(">I", 8)),
        "too_large": SETTINGS + h2_headers(1, "POST", "/", [("content-length", "99999999")], False)
        + h2_frame(0, 0, 1, b"x" * 100),
        "continuation": SETTINGS + h2_frame(1, 0, 1, hpack_literal(":method", "GET"))
        + h2_frame(9, 4, 1, hpack_literal(":path", "/a") + hpack_literal("x-a", "b"))
        + h2_frame(0, 1, 1, b""),
        "indexed": SETTINGS + h2_frame(1, 5, 1, b"\x82\x84\x86\x41\x09localhost"),
        "goaway": SETTINGS + h2_headers(1, "GET", "/nocontent")
        + h2_frame(7, 0, 0, struct.pack(">II", 1, 0)),
    }
    for k, v in h2.items():
        write("h2c", k + ".bin", b"\x00" + v)
    write("h2c", "post_bytewise.bin", b"\x03" + h2["post"])


if __name__ == "__main__":
    main()
