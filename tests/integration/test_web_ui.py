"""tests/integration/test_web_ui.py - the web UI served on the query port, driven
by a headless Chromium (Debian's chromium, through npm playwright-core) as a user
would: an ottrd with query-port authentication and tenants holds known traces
(a checkout that fails in payment, a trace with an orphan span, a 10,000-span
trace and 10,000 one-span traces); web_ui.js opens every page with the
credential and tenant set under Settings and checks what it shows, that it makes
no request outside ottrd's origin, and saves a screenshot of each page under
build/.../ui-screenshots/. Also checks the files' HTTP side: gzip, ETag and 304,
the security headers, open without credentials while the APIs are not, and the
new /api/span-metrics and /api/sampler. Skips (77) without chromium or playwright-core."""
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.join(HERE, "sdk")
MS = 1000000
TOKEN = "ui-test-token"
TENANT = "acme"
CHECKOUT = "c0ffee00000000000000000000000001"
ORPHAN = "c0ffee00000000000000000000000002"
BIG = "c0ffee00000000000000000000000003"
NBIG = 10000
NMANY = 10000


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def kv(k, v):
    return {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}


def span(trace, sid, parent, name, kind, start, dur_ms, attrs=(), **extra):
    s = {"traceId": trace, "spanId": sid, "name": name, "kind": kind,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + int(dur_ms * MS)),
         "attributes": list(attrs)}
    if parent:
        s["parentSpanId"] = parent
    s.update(extra)
    return s


def rs(service, spans):
    return {"resource": {"attributes": [kv("service.name", service),
                                        kv("deployment.environment.name", "test")]},
            "scopeSpans": [{"scope": {"name": "ui-test"}, "spans": spans}]}


def checkout_trace(now):
    """frontend -> checkout -> postgres, then payment (fails) while a cache
    lookup runs in parallel (off the critical path); the payment error carries an
    exception event, the checkout span a link to the orphan trace."""
    t = CHECKOUT
    return [
        rs("frontend", [
            span(t, "f000000000000001", None, "POST /checkout", 2, now, 240,
                 [kv("http.request.method", "POST"), kv("http.response.status_code", 500)],
                 status={"code": 2, "message": "checkout failed"}),
            span(t, "f000000000000002", "f000000000000001", "POST /api/checkout", 3,
                 now + 5 * MS, 225, [kv("peer.service", "checkout")])]),
        rs("checkout", [
            span(t, "c000000000000001", "f000000000000002", "POST /api/checkout", 2,
                 now + 10 * MS, 215, [kv("http.route", "/api/checkout")],
                 links=[{"traceId": ORPHAN, "spanId": "b000000000000001"}],
                 status={"code": 2, "message": "payment declined"}),
            span(t, "c000000000000002", "c000000000000001", "SELECT orders", 3,
                 now + 15 * MS, 30, [kv("db.system", "postgresql"), kv("db.name", "shop"),
                                     kv("db.statement", "SELECT * FROM orders")]),
            span(t, "c000000000000004", "c000000000000001", "cache lookup", 1,
                 now + 55 * MS, 35, [kv("cache.key", "cart:42")]),
            span(t, "c000000000000003", "c000000000000001", "POST /charge", 3,
                 now + 50 * MS, 170, [kv("peer.service", "payment")],
                 status={"code": 2})]),
        rs("payment", [
            span(t, "d000000000000001", "c000000000000003", "POST /charge", 2,
                 now + 55 * MS, 160, [kv("card.brand", "visa")],
                 status={"code": 2, "message": "card declined"},
                 events=[{"timeUnixNano": str(now + 200 * MS), "name": "exception",
                          "attributes": [kv("exception.type", "CardDeclined"),
                                         kv("exception.message", "insufficient funds")]}])]),
    ]


def orphan_trace(now):
    return [rs("worker", [
        span(ORPHAN, "b000000000000001", None, "consume order", 5, now, 40),
        span(ORPHAN, "b000000000000002", "1111111111111111", "send email", 3, now + 10 * MS, 20)])]


def big_trace(now):
    """NBIG spans: a root with 100 children of 99 leaves each."""
    spans = [span(BIG, "%016x" % 1, None, "batch run", 2, now, 1000)]
    n = 1
    for i in range(100):
        parent = "%016x" % (n + 1)
        spans.append(span(BIG, parent, "%016x" % 1, "chunk %d" % i, 1, now + i * 9 * MS, 9))
        n += 1
        for j in range(99):
            if n >= NBIG:
                break
            n += 1
            spans.append(span(BIG, "%016x" % n, parent, "item %d" % j, 1,
                              now + i * 9 * MS + j * 80000, 0.08))
    return [rs("batch", spans[:NBIG])]


def many_traces(now):
    spans = [span("%032x" % (0xd000000 + i), "%016x" % (i + 1), None, "GET /health", 2,
                  now - i * 5 * MS, 1 + i % 50) for i in range(NMANY)]
    return [[rs("probe", spans[i:i + 1000])] for i in range(0, NMANY, 1000)]


def post(d, resource_spans):
    """Exports as an SDK does: a 503 push-back is retried (within a deadline)."""
    body = json.dumps({"resourceSpans": resource_spans}).encode()

    def once():
        req = urllib.request.Request("http://127.0.0.1:%d/v1/traces" % d.http_port, data=body,
                                     headers={"Content-Type": "application/json",
                                              "X-Scope-OrgID": TENANT}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status == 200
        except urllib.error.HTTPError as e:
            if e.code != 503:
                raise AssertionError("export status %d: %r" % (e.code, e.read()[:200]))
            return False
    wait_for(once, timeout=60, what="export taken")


def auth_get(d, path, headers=None):
    h = {"Authorization": "Bearer " + TOKEN, "X-Scope-OrgID": TENANT}
    h.update(headers or {})
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (d.query_port, path), headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def start(tmp):
    tokens = os.path.join(tmp, "tokens")
    with open(tokens, "w") as f:
        f.write(TOKEN + "\n")
    cfg = os.path.join(tmp, "ottr.yaml")
    with open(cfg, "w") as f:
        f.write("multitenancy_enabled: true\n"
                "query:\n  auth: {type: bearer, file: %s}\n"
                "sampling:\n  decision_wait: 1s\n  decision_wait_after_root: 100ms\n"
                "  policies:\n"
                "    - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
                "    - {name: everything, type: probabilistic,"
                " probabilistic: {sampling_percentage: 100}}\n" % tokens)
    return Ottrd("--config", cfg)


def load(d):
    now = time.time_ns() - 2000 * MS
    post(d, checkout_trace(now))
    post(d, orphan_trace(now + 300 * MS))
    post(d, big_trace(now - 60000 * MS))
    for part in many_traces(now - 1000 * MS):
        post(d, part)
    for t in (CHECKOUT, ORPHAN, BIG):
        wait_for(lambda: auth_get(d, "/api/v2/traces/" + t)[0] == 200, timeout=60,
                 what="trace " + t)
    wait_for(lambda: len(json.loads(auth_get(
        d, "/api/search?tags=service.name%%3Dprobe&limit=%d" % NMANY)[2])["traces"]) == NMANY,
        timeout=60, what="every probe trace searchable")
    wait_for(lambda: any(e["connectionType"] == "database" for e in json.loads(
        auth_get(d, "/api/service-graph")[2])["edges"]), timeout=60, what="the database edge")


def check_http(d):
    code, h, body = auth_get(d, "/", {"Authorization": "", "Accept-Encoding": "gzip"})
    check(code == 200, "GET / without credentials: %d" % code)
    check(h.get("Content-Type", "").startswith("text/html"), "content type %r" % h)
    check(h.get("Content-Encoding") == "gzip" and b"<title>Ottr" in gzip.decompress(body),
          "gzip page: %r" % h)
    check("default-src 'self'" in h.get("Content-Security-Policy", ""), "CSP: %r" % h)
    etag = h.get("ETag")
    code, h2, body = auth_get(d, "/", {"If-None-Match": etag})
    check(code == 304 and body == b"", "If-None-Match: %d" % code)
    code, h, body = auth_get(d, "/ui/app.js")
    check(code == 200 and "javascript" in h["Content-Type"] and b"Ottr" in body,
          "app.js: %d %r" % (code, h))
    check(auth_get(d, "/ui/nope.js")[0] == 404, "unknown file must be 404")
    check(d.get(d.query_port, "/api/search")[0] == 401, "the API still needs the credential")
    code, _, body = auth_get(d, "/api/span-metrics?service=payment")
    check(code == 200, "span-metrics: %d %r" % (code, body[:200]))
    m = json.loads(body)
    rows = [r for r in m["rows"] if r["name"] == "POST /charge" and r["kind"] == "SPAN_KIND_SERVER"]
    check(sum(r["calls"] for r in rows) == 1 and sum(r["errors"] for r in rows) == 1 and
          m["stepSeconds"] == 60 and len(m["latencyBucketsMs"]) == len(rows[0]["latencyCounts"]),
          "span-metrics of payment: %r" % m)
    check(auth_get(d, "/api/span-metrics?start=20&end=10")[0] == 400, "start after end: 400")
    code, _, body = auth_get(d, "/api/sampler")
    s = json.loads(body)
    check(code == 200 and s["policies"] == [{"name": "errors", "type": "status_code"},
                                            {"name": "everything", "type": "probabilistic"}]
          and s["kept"] >= NMANY + 3 and s["dropped"] == 0, "/api/sampler: %r" % s)


def main():
    chromium = shutil.which("chromium")
    pw = os.path.join(SDK, "node_modules", "playwright-core")
    if not chromium or not os.path.isdir(pw) or not shutil.which("node"):
        print("skip: needs chromium and playwright-core (scripts/bootstrap --test)")
        sys.exit(77)
    shots = os.path.join(os.environ.get("OTTR_BUILD", "build"), "ui-screenshots")
    os.makedirs(shots, exist_ok=True)
    import tempfile
    tmp = tempfile.mkdtemp(prefix="ottr-ui-")
    try:
        with start(tmp) as d:
            t0 = time.monotonic()
            load(d)
            print("loaded in %.1fs" % (time.monotonic() - t0))
            check_http(d)
            if os.environ.get("OTTR_UI_SERVE"):  # keeps it up to look at by hand
                print("http://127.0.0.1:%d/ token %s tenant %s" % (d.query_port, TOKEN, TENANT))
                sys.stdout.flush()
                time.sleep(float(os.environ["OTTR_UI_SERVE"]))
            env = dict(os.environ, NODE_PATH=os.path.join(SDK, "node_modules"))
            r = subprocess.run(
                ["node", os.path.join(HERE, "web_ui.js"), "http://127.0.0.1:%d" % d.query_port,
                 shots, TOKEN, TENANT, CHECKOUT, ORPHAN, BIG, str(NBIG), str(NMANY)],
                env=env, timeout=120)
            check(r.returncode == 0, "web_ui.js failed (%d)" % r.returncode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
