"""tests/integration/data/cli_fake_server.py - a stand-in for ottrd's HTTP APIs
(Tempo, Jaeger, service graph, OTLP/HTTP) serving canned answers and odd
failures, so test_cli_fake.sh can check every output and error path of `ottr`.

Usage: cli_fake_server.py PORT_FILE REQUEST_LOG DATA_DIR
Listens on 127.0.0.1 on a free port, writes it to PORT_FILE, appends one JSON line
per request to REQUEST_LOG.
"""
import gzip
import json
import os
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, LOG, DATA = sys.argv[1], sys.argv[2], sys.argv[3]

KNOWN = "4bf92f3577b34da6a3ce929d0e0e4736"
with open(os.path.join(DATA, "cli_checkout_trace.json")) as f:
    TRACE = {"batches": json.load(f)["resourceSpans"]}

SEARCH = {
    "traces": [
        {
            "traceID": KNOWN,
            "rootServiceName": "frontend",
            "rootTraceName": "GET /checkout",
            "startTimeUnixNano": "1700000000000000000",
            "durationMs": 260,
            "serviceStats": {
                "frontend": {"spanCount": 2},
                "checkout": {"spanCount": 3, "errorCount": 1},
                "payment": {"spanCount": 1, "errorCount": 1},
            },
        }
    ],
    "metrics": {"inspectedTraces": 1},
}

GRAPH = {
    "start": 0,
    "end": 0,
    "nodes": [{"service": "frontend", "calls": 1, "errors": 0,
               "latencyMs": {"p50": 250, "p95": 250, "p99": 250}}],
    "edges": [
        {"client": "frontend", "server": "checkout", "connectionType": "", "calls": 12,
         "errors": 0, "latencyMs": {"p50": 200, "p95": 235, "p99": 240}},
        {"client": "checkout", "server": "payment", "connectionType": "", "calls": 12,
         "errors": 3, "latencyMs": {"p50": 150, "p95": 165, "p99": 170}},
    ],
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, body=b""):
        entry = {
            "method": self.command,
            "path": self.path,
            "content_type": self.headers.get("Content-Type", ""),
            "content_encoding": self.headers.get("Content-Encoding", ""),
            "accept": self.headers.get("Accept", ""),
            "length": len(body),
        }
        with open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def send(self, status, body, ctype="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        extra = list(headers)
        if "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 512:
            body = gzip.compress(body)
            extra.append(("Content-Encoding", "gzip"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        if path.startswith("/api/traces/"):
            tid = path[len("/api/traces/"):]
            if tid == KNOWN:
                return self.send(200, TRACE)
            if tid.endswith("500"):
                return self.send(500, "store failed: IO error\nsecond line\n", "text/plain")
            if tid.endswith("bad"):
                return self.send(200, "{this is not json")
            if tid.endswith("e3e3"):
                return self.send(200, {"batches": []})
            if tid.endswith("51ee9"):
                time.sleep(5)
                return self.send(200, TRACE)
            if tid.endswith("c105e"):
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            return self.send(404, "")
        if path == "/api/search":
            if "nomatch" in query.get("q", [""])[0]:
                return self.send(200, {"traces": [], "metrics": {}})
            return self.send(200, SEARCH)
        if path == "/api/v2/search/tag/resource.service.name/values":
            return self.send(200, {"tagValues": [{"type": "string", "value": v}
                                                 for v in ("payment", "frontend", "checkout")]})
        if path.startswith("/api/services/") and path.endswith("/operations"):
            svc = urllib.parse.unquote(path[len("/api/services/"):-len("/operations")])
            ops = ["payment.Charge", "POST /api/checkout"] if svc == "check out" else []
            return self.send(200, {"data": ops, "total": len(ops), "limit": 0, "offset": 0,
                                   "errors": None})
        if path == "/api/service-graph":
            return self.send(200, GRAPH)
        return self.send(404, "404 page not found\n", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.record(body)
        if self.path == "/busy/v1/traces":
            return self.send(429, {"code": 8, "message": "over the memory budget"},
                             headers=[("Retry-After", "7")])
        if self.path != "/v1/traces":
            return self.send(404, "404 page not found\n", "text/plain")
        ctype = self.headers.get("Content-Type", "")
        if self.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
        if ctype == "application/json":
            try:
                json.loads(body)
            except ValueError:
                return self.send(400, {"code": 3, "message": "bad JSON"})
            if b"rejectme" in body:
                return self.send(200, {"partialSuccess": {"rejectedSpans": "1",
                                                          "errorMessage": "invalid span ID"}})
            return self.send(200, {})
        return self.send(200, b"", "application/x-protobuf")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
