"""tests/integration/test_sampling.py - tail sampling as a user sees it.

With tail_sampling policies pasted from the OpenTelemetry Collector, ottrd keeps
the error trace and drops the others, while span metrics and the service graph
count every span; a bad policy file on SIGHUP is refused and the daemon keeps
running, a good one takes effect; a trace still undecided at kill -9 is decided
after the restart."""
import json
import os
import signal
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

ERRORS_CFG = """sampling:
  decision_wait: 2s
  decision_wait_after_root: 300ms
  policies:
    - name: errors
      type: status_code
      status_code: {status_codes: [ERROR]}
    - name: no-health
      type: drop
      drop:
        drop_sub_policy:
          - name: health
            type: string_attribute
            string_attribute: {key: http.route, values: [/health]}
"""

BAD_CFG = ERRORS_CFG.replace("[ERROR]", "[EROR]")

ALL_CFG = """sampling:
  decision_wait: 2s
  decision_wait_after_root: 300ms
  policies:
    - {name: all, type: always_sample}
"""


def span(service, trace_id, span_id, parent=None, kind=2, status=0, route=None):
    now = time.time_ns()
    sp = {"traceId": trace_id, "spanId": span_id, "name": "op", "kind": kind,
          "startTimeUnixNano": str(now - 20_000_000), "endTimeUnixNano": str(now),
          "status": {"code": status}}
    if parent:
        sp["parentSpanId"] = parent
    if route:
        sp["attributes"] = [{"key": "http.route", "value": {"stringValue": route}}]
    return {"resource": {"attributes": [{"key": "service.name",
                                         "value": {"stringValue": service}}]},
            "scopeSpans": [{"spans": [sp]}]}


def post(d, *resource_spans):
    body = json.dumps({"resourceSpans": list(resource_spans)}).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/v1/traces" % d.http_port, data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200, r.status


def trace_status(d, tid):
    return d.get(d.query_port, "/api/traces/" + tid)[0]


def metrics(d):
    st, body = d.get(d.query_port, "/metrics")
    assert st == 200
    return body.decode()


def metric(text, prefix):
    for line in text.splitlines():
        if line.startswith(prefix + " "):
            return float(line.split()[-1])
    return 0.0


def decided(d):
    m = metrics(d)
    return sum(float(l.split()[-1]) for l in m.splitlines()
               if l.startswith("ottr_sampler_decisions_total{"))


def main():
    d = Ottrd()
    cfg = os.path.join(d.tmp, "ottr.yaml")
    with open(cfg, "w") as f:
        f.write(ERRORS_CFG)
    d.args = ["--config", cfg]
    try:
        d.start()
        err_t, ok_t, health_t = "11" * 16, "22" * 16, "33" * 16
        # An error deep in a two-service trace, a clean trace, a failing health check.
        post(d, span("frontend", err_t, "a1" * 8), span("frontend", err_t, "a2" * 8, "a1" * 8, kind=3))
        post(d, span("backend", err_t, "a3" * 8, "a2" * 8, kind=2, status=2))
        post(d, span("frontend", ok_t, "b1" * 8), span("frontend", ok_t, "b2" * 8, "b1" * 8, kind=3),
             span("backend", ok_t, "b3" * 8, "b2" * 8))
        post(d, span("frontend", health_t, "c1" * 8, status=2, route="/health"))
        wait_for(lambda: decided(d) >= 3, timeout=20, what="three decisions")
        wait_for(lambda: trace_status(d, err_t) == 200, timeout=10, what="error trace stored")
        assert trace_status(d, ok_t) == 404, "a clean trace was kept"
        assert trace_status(d, health_t) == 404, "the drop policy did not drop /health"

        m = metrics(d)
        # Every span counts, kept or not.
        assert metric(m, 'traces_spanmetrics_calls_total{service="backend",span_name="op",'
                         'span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}') == 1, m
        assert metric(m, 'traces_spanmetrics_calls_total{service="backend",span_name="op",'
                         'span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR"}') == 1
        assert metric(m, 'traces_service_graph_request_total{client="frontend",server="backend",'
                         'connection_type=""}') == 2, m
        assert metric(m, 'traces_service_graph_request_failed_total{client="frontend",'
                         'server="backend",connection_type=""}') == 1
        assert metric(m, 'ottr_sampler_decisions_total{policy="errors",decision="kept"}') == 1
        assert metric(m, 'ottr_sampler_decisions_total{policy="no-health",decision="dropped"}') == 1

        # A late span of the kept trace is stored with it.
        post(d, span("backend", err_t, "a4" * 8, "a3" * 8, kind=1))
        def spans_of(tid):
            st, body = d.get(d.query_port, "/api/traces/" + tid)
            if st != 200:
                return 0
            doc = json.loads(body)
            return sum(len(ss.get("spans", [])) for rs in doc.get("batches", doc.get("resourceSpans", []))
                       for ss in rs.get("scopeSpans", []))
        wait_for(lambda: spans_of(err_t) == 4, timeout=10, what="late span stored")

        # A broken policy file is refused on SIGHUP; the daemon runs on.
        with open(cfg, "w") as f:
            f.write(BAD_CFG)
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload rejected" in open(d.log_path).read(), timeout=10,
                 what="reload rejected in the log")
        assert d.proc.poll() is None
        assert 'unknown status code \\"EROR\\"' in open(d.log_path).read()

        # A good one takes effect.
        with open(cfg, "w") as f:
            f.write(ALL_CFG)
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "policies reloaded" in open(d.log_path).read(), timeout=10,
                 what="policies reloaded")
        ok2 = "44" * 16
        post(d, span("frontend", ok2, "d1" * 8))
        wait_for(lambda: trace_status(d, ok2) == 200, timeout=10, what="kept after reload")

        # Undecided at kill -9 (no root yet, decision_wait not reached): after the
        # restart it comes back from pending and is decided.
        late = "55" * 16
        post(d, span("frontend", late, "e2" * 8, "e1" * 8, kind=3))
        d.kill9()
        d.start()
        wait_for(lambda: trace_status(d, late) == 200, timeout=20, what="replayed trace kept")
        d.stop()
    finally:
        d.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
