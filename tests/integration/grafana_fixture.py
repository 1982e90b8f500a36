"""tests/integration/grafana_fixture.py - the traces the Grafana and TraceQL
metrics tests store: three traces with fixed IDs whose spans all start and end
within one minute (BASE, a whole minute two minutes ago), so that answers from
the span metrics (minute of a span's end) and from the traces (its start) agree.

  T1  frontend "GET /cart" server 150 ms  http.method=GET http.status_code=200 ratio=0.5
        frontend "GET /api/cart" client 120 ms  peer.service=cart
          cart "GET /api/cart" server 100 ms  http.status_code=503, status ERROR
  T2  frontend "GET /cart" server 40 ms   http.method=GET http.status_code=200 ratio=1.0
  T3  worker "process job" consumer 30 ms
"""
import json
import os
import time
import urllib.request

from harness import Ottrd
from test_query_apis import kv, span  # noqa: F401 (the same span builders)

T1 = "0af7651916cd43dd8448eb211c80319c"
T2 = "0af7651916cd43dd8448eb211c8031a0"
T3 = "0af7651916cd43dd8448eb211c8031a1"
MS = 1000000


def base_ns():
    """The start of the minute two minutes ago."""
    return (time.time_ns() // (60 * 10**9) - 2) * 60 * 10**9


def body(base):
    t0 = base + 1000 * MS
    fe = [span(T1, "1000000000000001", None, "GET /cart", 2, t0, 150,
               [kv("http.method", "GET"), kv("http.status_code", 200), kv("ratio", 0.5)]),
          span(T1, "1000000000000002", "1000000000000001", "GET /api/cart", 3, t0 + 5 * MS, 120,
               [kv("peer.service", "cart")]),
          span(T2, "2000000000000001", None, "GET /cart", 2, t0 + 2000 * MS, 40,
               [kv("http.method", "GET"), kv("http.status_code", 200), kv("ratio", 1.0)])]
    cart = [span(T1, "1000000000000003", "1000000000000002", "GET /api/cart", 2, t0 + 10 * MS,
                 100, [kv("http.status_code", 503)],
                 status={"code": 2, "message": "cart unavailable"})]
    worker = [span(T3, "3000000000000001", None, "process job", 5, t0 + 3000 * MS, 30)]
    return {"resourceSpans": [
        {"resource": {"attributes": [kv("service.name", "frontend")]},
         "scopeSpans": [{"scope": {"name": "http"}, "spans": fe}]},
        {"resource": {"attributes": [kv("service.name", "cart")]},
         "scopeSpans": [{"scope": {}, "spans": cart}]},
        {"resource": {"attributes": [kv("service.name", "worker")]},
         "scopeSpans": [{"scope": {}, "spans": worker}]},
    ]}


def http(port, path, headers=None, data=None, tls=None):
    """(status, body, headers); |tls| an ssl.SSLContext for https."""
    req = urllib.request.Request("%s://127.0.0.1:%d%s" % ("https" if tls else "http", port, path),
                                 data=data, headers=headers or {},
                                 method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=20, context=tls) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def ingest(d, base, headers=None, tls=None):
    """Sends the traces and waits until all three are stored and the span
    metrics of their minute are flushed (the query port over TLS with |tls|)."""
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    code, resp, _ = http(d.http_port, "/v1/traces", h, json.dumps(body(base)).encode())
    assert code == 200, "export: %d %r" % (code, resp)
    from harness import wait_for
    for t in (T1, T2, T3):
        wait_for(lambda: http(d.query_port, "/api/v2/traces/" + t, headers, tls=tls)[0] == 200,
                 timeout=30, what="trace %s stored" % t)
    q = "/api/metrics/query?q=%7B%7D%20%7C%20count_over_time()&start={}&end={}".format(
        base // 10**9, base // 10**9 + 60)
    wait_for(lambda: json.loads(http(d.query_port, q, headers, tls=tls)[1])["series"][0]["value"]
             == 5,
             timeout=30, what="span metrics of the minute flushed")


CONFIG = "sampling:\n  decision_wait: 1s\n  decision_wait_after_root: 100ms\n"


def daemon(extra_config=""):
    """An Ottrd (not started) with short sampling waits and |extra_config|."""
    d = Ottrd()
    cfg = os.path.join(d.tmp, "ottr.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG + extra_config)
    d.args = ["--config", cfg]
    return d
