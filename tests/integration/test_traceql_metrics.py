"""tests/integration/test_traceql_metrics.py - TraceQL metrics as Grafana's
Traces Drilldown and "metrics" query type ask for them (/api/metrics/query_range
and /api/metrics/query): one check per function - rate, count_over_time,
sum/min/max/avg_over_time, quantile_over_time, histogram_over_time, by(),
topk/bottomk, compare() - with the values the stored traces make, which source
answered (span metrics of every span for the RED case, else the kept traces),
exemplars, the instant form, and the errors of bad queries."""
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grafana_fixture as fx  # noqa: E402
from harness import wait_for  # noqa: E402


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class Metrics:
    def __init__(self, d, base):
        self.d, self.base = d, base
        self.start, self.end = base // 10**9 - 60, base // 10**9 + 120
        self.minute_ms = str(base // 10**6)

    def get(self, q, path="/api/metrics/query_range", want=200, **extra):
        params = {"q": q, "start": self.start, "end": self.end, "step": "60s"}
        params.update(extra)
        code, body, hdrs = fx.http(self.d.query_port, path + "?" + urllib.parse.urlencode(params))
        check(code == want, "%s: %d, want %d: %r" % (q, code, want, body[:300]))
        if want != 200:
            return body.decode()
        r = json.loads(body)
        check(hdrs.get("X-Ottr-Metrics-Source") == r["metrics"]["source"],
              "%s: source header %r vs %r" % (q, hdrs.get("X-Ottr-Metrics-Source"), r["metrics"]))
        return r

    def series(self, r):
        """{labels as a tuple of (key, value)}: {timestampMs: value}."""
        out = {}
        for s in r["series"]:
            key = tuple((l["key"], list(l["value"].values())[0] if l["value"] else None)
                        for l in s["labels"])
            out[key] = {x["timestampMs"]: x["value"] for x in s.get("samples", [])}
        return out

    def at_minute(self, r):
        return {k: v.get(self.minute_ms) for k, v in self.series(r).items()}


def approx(a, b):
    return a is not None and abs(a - b) < 1e-9


def run(m):
    svc = "resource.service.name"
    # rate(): the RED case comes from the span metrics of every span.
    r = m.get("{} | rate() by (resource.service.name)")
    check(r["metrics"]["source"] == "spanmetrics", "rate source: %r" % r["metrics"])
    v = m.at_minute(r)
    check(approx(v[((svc, "frontend"),)], 3 / 60) and approx(v[((svc, "cart"),)], 1 / 60),
          "rate by service: %r" % v)
    # Samples at every step, zero where nothing happened.
    s = m.series(r)[((svc, "worker"),)]
    check(len(s) == 3 and sorted(s.values()) == [0, 0, 1 / 60], "worker's steps: %r" % s)

    # Errors per service: status = error is still the RED case.
    r = m.get("{ status = error } | rate() by (resource.service.name)")
    check(r["metrics"]["source"] == "spanmetrics", "error rate source")
    check(list(m.at_minute(r).keys()) == [((svc, "cart"),)], "errors only in cart: %r" % r)

    # count_over_time over the traces (an attribute filter), by span name.
    r = m.get('{ span.http.method = "GET" } | count_over_time() by (name)')
    check(r["metrics"]["source"] == "traces", "count source: %r" % r["metrics"])
    check(m.at_minute(r) == {(("name", "GET /cart"),): 2}, "count by name: %r" % m.at_minute(r))
    check(r["metrics"]["inspectedTraces"] >= 2, "inspected traces: %r" % r["metrics"])

    # sum/min/max/avg_over_time of an attribute or the duration (seconds).
    r = m.get("{} | sum_over_time(span.http.status_code)")
    check(m.at_minute(r) == {(): 903}, "sum: %r" % m.at_minute(r))
    r = m.get("{} | min_over_time(duration) by (resource.service.name)")
    v = m.at_minute(r)
    check(approx(v[((svc, "frontend"),)], 0.04) and approx(v[((svc, "worker"),)], 0.03),
          "min: %r" % v)
    r = m.get("{ kind = server } | max_over_time(duration) by (resource.service.name)")
    v = m.at_minute(r)
    check(approx(v[((svc, "frontend"),)], 0.15) and approx(v[((svc, "cart"),)], 0.1),
          "max: %r" % v)
    r = m.get("{} | avg_over_time(span.ratio)")
    check(approx(m.at_minute(r)[()], 0.75), "avg: %r" % m.at_minute(r))
    # Only steps with values are answered.
    check(len(m.series(r)[()]) == 1, "avg steps: %r" % m.series(r))

    # quantile_over_time: one series per quantile, labelled p.
    r = m.get("{ kind = server } | quantile_over_time(duration, .5, .99)")
    check(r["metrics"]["source"] == "spanmetrics", "quantile source: %r" % r["metrics"])
    v = m.at_minute(r)
    check(set(v) == {(("p", 0.5),), (("p", 0.99),)}, "quantile labels: %r" % v)
    check(0.032 <= v[(("p", 0.5),)] <= 0.128 and 0.128 <= v[(("p", 0.99),)] <= 0.256,
          "quantiles within their buckets: %r" % v)
    r = m.get('{ span.http.method = "GET" } | quantile_over_time(duration, .9)')
    check(r["metrics"]["source"] == "traces", "traces quantile source")
    check(0.128 <= m.at_minute(r)[(("p", 0.9),)] <= 0.256, "traces quantile: %r" % r)

    # histogram_over_time: a series per bucket (__bucket, upper bound in seconds).
    r = m.get("{} | histogram_over_time(duration)")
    v = m.at_minute(r)
    check(sum(x for x in v.values() if x) == 5, "histogram counts every span: %r" % v)
    check(all(k[0][0] == "__bucket" for k in v), "bucket labels: %r" % v)
    r = m.get('{ span.http.method = "GET" } | histogram_over_time(duration) by (name)')
    check(sum(x or 0 for x in m.at_minute(r).values()) == 2, "traces histogram: %r" % r)

    # topk / bottomk keep the largest / smallest series.
    r = m.get("{} | count_over_time() by (resource.service.name) | topk(1)")
    check(list(m.series(r)) == [((svc, "frontend"),)], "topk: %r" % m.series(r))
    r = m.get("{} | count_over_time() by (resource.service.name) | bottomk(2)")
    check(set(m.series(r)) == {((svc, "cart"),), ((svc, "worker"),)}, "bottomk: %r" % r)

    # compare(): what sets the selection apart from the baseline.
    r = m.get("{} | compare({ status = error })")
    v = m.at_minute(r)
    check(v.get((("__meta_type", "selection"), ("span.http.status_code", "503"))) == 1,
          "selection's status code: %r" % sorted(v)[:20])
    check(v.get((("__meta_type", "baseline"), ("resource.service.name", "frontend"))) == 3,
          "baseline's services: %r" % sorted(v)[:20])
    check(v.get((("__meta_type", "selection_total"), ("resource.service.name", None))) == 1,
          "selection total: %r" % sorted(v)[:20])

    # Nothing selected: no series, with topk too.
    r = m.get("{ status = ok } | rate() | topk(2)")
    check(r["series"] == [] and r["metrics"]["source"] == "traces", "nothing: %r" % r)
    code, body, _ = fx.http(m.d.query_port, "/api/v2/search/tag/span.http.method/values?" +
                            urllib.parse.urlencode({"q": '{ name = "none" && ', "start": m.start,
                                                    "end": m.end}))
    check(code == 200 and json.loads(body) == {"tagValues": []}, "no values: %r" % body)

    # Exemplars point at traces.
    r = m.get('{ span.http.method = "GET" } | count_over_time()', exemplars=5)
    ex = r["series"][0]["exemplars"]
    check(ex and ex[0]["labels"][0]["key"] == "trace:id" and
          ex[0]["labels"][0]["value"]["stringValue"] in (fx.T1, fx.T2), "exemplars: %r" % ex)

    # The instant form: one value over the range.
    r = m.get("{} | count_over_time() by (resource.service.name)", path="/api/metrics/query")
    v = {s["labels"][0]["value"]["stringValue"]: s["value"] for s in r["series"]}
    check(v == {"frontend": 3, "cart": 1, "worker": 1}, "instant: %r" % v)

    # Bad queries are 400 with what is wrong.
    msg = m.get("{} | rate(", want=400)
    check("expected ')'" in msg, "bad query message: %r" % msg)
    msg = m.get("{ name = \"x\" }", want=400)
    check("metrics function" in msg, "no function: %r" % msg)
    msg = m.get('{ span.http.method = "GET" } | rate()', want=400, step="1ms")
    check("too many steps" in msg, "steps: %r" % msg)


def long_span(m):
    """A span past the span metrics' last latency bucket (16.384 s) lands in
    __bucket +Inf, written as protobuf's JSON has it ("Infinity")."""
    b = m.base - 60 * 10**9
    t4 = "0af7651916cd43dd8448eb211c8031a2"
    body = {"resourceSpans": [{"resource": {"attributes": [fx.kv("service.name", "batch")]},
                               "scopeSpans": [{"scope": {}, "spans": [
                                   fx.span(t4, "4000000000000001", None, "nightly", 1,
                                           b + 5 * 10**9, 20000)]}]}]}
    code, resp, _ = fx.http(m.d.http_port, "/v1/traces", {"Content-Type": "application/json"},
                            json.dumps(body).encode())
    check(code == 200, "export: %d %r" % (code, resp))
    q = urllib.parse.urlencode({"q": '{ resource.service.name = "batch" } | '
                                     'histogram_over_time(duration)',
                                "start": b // 10**9, "end": b // 10**9 + 59, "step": "60s"})

    def inf_bucket():
        r = json.loads(fx.http(m.d.query_port, "/api/metrics/query_range?" + q)[1])
        return [s for s in r["series"]
                if s["labels"][0]["value"].get("doubleValue") == "Infinity"]
    s = wait_for(inf_bucket, timeout=30, what="the +Inf bucket")
    check(s[0]["samples"][0]["value"] == 1, "one span in +Inf: %r" % s)


def main():
    with fx.daemon() as d:
        base = fx.base_ns()
        fx.ingest(d, base)
        m = Metrics(d, base)
        run(m)
        long_span(m)
    print("ok")


if __name__ == "__main__":
    main()
