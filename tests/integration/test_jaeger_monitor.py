"""tests/integration/test_jaeger_monitor.py - Jaeger UI's Monitor tab (its
metrics API) served from Ottr's own per-minute span metrics: spans with known
ends, kinds, statuses and durations go in over OTLP/HTTP; /api/metrics/calls,
/errors and /latencies must give exact counts and quantiles within the latency
bucket, in Jaeger's MetricFamily JSON; the series are the same after a clean
restart and after kill -9; unknown metrics answer 501 in Jaeger's envelope."""
import json
import os
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

MS = 1000000
MIN_NS = 60 * 1000 * MS


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def span(i, name, kind, end_ns, dur_ms, error=False):
    s = {"traceId": "%032x" % (0xabc0000 + i), "spanId": "%016x" % (0x100 + i),
         "name": name, "kind": kind,
         "startTimeUnixNano": str(end_ns - dur_ms * MS), "endTimeUnixNano": str(end_ns)}
    if error:
        s["status"] = {"code": 2}
    return s


def body(groups):
    return json.dumps({"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": svc}}]},
         "scopeSpans": [{"scope": {}, "spans": spans}]} for svc, spans in groups]}).encode()


def post(port, payload):
    req = urllib.request.Request("http://127.0.0.1:%d/v1/traces" % port, data=payload,
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        check(r.status == 200, "export status %d" % r.status)


def get(d, path, want=200):
    code, b = d.get(d.jaeger_port, path)
    check(code == want, "%s: status %d, want %d: %r" % (path, code, want, b[:300]))
    return json.loads(b)


def metrics(d, what, **params):
    items = []
    for k, v in params.items():
        for one in (v if isinstance(v, list) else [v]):
            items.append((k, one))
    return get(d, "/api/metrics/%s?%s" % (what, urllib.parse.urlencode(items)))


def rfc3339(ms):
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    return s + ("Z" if ms % 1000 == 0 else ".%03dZ" % (ms % 1000))


def point_at(family, labels, minute):
    """The value of the series with |labels| at the point of |minute|."""
    for m in family.get("metrics", []):
        if {l["name"]: l["value"] for l in m["labels"]} != labels:
            continue
        for p in m["metricPoints"]:
            if p["timestamp"] == rfc3339(minute * 60000):
                return p["gaugeValue"]["doubleValue"]
        return None
    raise AssertionError("no series %r in %r" % (labels, family))


def histogram_quantile(q, counts, bounds):
    """Prometheus' estimate over bucket counts (upper |bounds|, the last +Inf)."""
    total = sum(counts)
    rank = q * total
    below = 0
    for i, c in enumerate(counts):
        if c and below + c >= rank:
            lo = 0 if i == 0 else bounds[i - 1]
            return lo + (bounds[i] - lo) * (rank - below) / c
        below += c


def ingest(d, m):
    """Spans ending in minutes m-3 and m-2 (whole minutes before now)."""
    end2 = (m - 2) * MIN_NS + 20 * 1000 * MS
    end3 = (m - 3) * MIN_NS + 30 * 1000 * MS
    shop = [span(i, "GET /a", 2, end2, 3) for i in range(10)]
    shop += [span(10 + i, "GET /a", 2, end2, 100, error=i < 2) for i in range(5)]
    shop += [span(20 + i, "GET /b", 2, end3, 20) for i in range(4)]
    shop += [span(30 + i, "SELECT", 3, end2, 7) for i in range(3)]
    other = [span(40 + i, "consume", 5, end3, 1) for i in range(7)]
    post(d.http_port, body([("shop", shop), ("other", other)]))


def expect_series(d, m):
    """The Monitor queries over minutes m-10 .. m, one point per minute."""
    base = dict(endTs=m * 60000, lookback=600000, step=60000, ratePer=60000)
    calls = metrics(d, "calls", service="shop", groupByOperation="true", **base)
    check(calls["name"] == "service_operation_call_rate", "name: %r" % calls["name"])
    check(calls["type"] == "GAUGE", "type")
    check(calls["help"] == "calls/sec, grouped by service & operation", "help: %r" % calls["help"])
    a = {"service_name": "shop", "operation": "GET /a"}
    b = {"service_name": "shop", "operation": "GET /b"}
    check([ {l["name"]: l["value"] for l in s["labels"]} for s in calls["metrics"]] == [a, b],
          "series GET /a and GET /b (server spans only): %r" % calls["metrics"])
    check(round(point_at(calls, a, m - 2) * 60, 9) == 15, "15 calls of GET /a in m-2")
    check(point_at(calls, a, m - 3) == 0, "no call of GET /a in m-3")
    check(round(point_at(calls, b, m - 3) * 60, 9) == 4, "4 calls of GET /b in m-3")
    pts = calls["metrics"][0]["metricPoints"]
    check(len(pts) == 11 and pts[0]["timestamp"] == rfc3339((m - 10) * 60000),
          "11 points from m-10: %r" % pts[:2])

    svc = metrics(d, "calls", service="shop", **base)
    check(svc["name"] == "service_call_rate", "ungrouped name")
    check(round(point_at(svc, {"service_name": "shop"}, m - 2) * 60, 9) == 15, "shop m-2")

    # spanKind as Jaeger UI sends it ("client"), as OpenTelemetry names it, or a list.
    for kind in ("client", "SPAN_KIND_CLIENT"):
        client = metrics(d, "calls", service="shop", spanKind=kind, **base)
        check(round(point_at(client, {"service_name": "shop"}, m - 2) * 60, 9) == 3,
              "client spans (%s)" % kind)
    listed = metrics(d, "calls", service="shop", spanKind="server,client", **base)
    check(round(point_at(listed, {"service_name": "shop"}, m - 2) * 60, 9) == 18, "kind list")
    both = metrics(d, "calls", service=["shop", "other"], spanKind=["server", "consumer"], **base)
    check(round(point_at(both, {"service_name": "other"}, m - 3) * 60, 9) == 7, "consumer spans")
    check(round(point_at(both, {"service_name": "shop"}, m - 3) * 60, 9) == 4, "shop m-3")

    # A 10-minute window sums both minutes, per second.
    wide = metrics(d, "calls", service="shop", **dict(base, ratePer=600000))
    check(round(point_at(wide, {"service_name": "shop"}, m - 1) * 600, 9) == 19, "window sum")

    errs = metrics(d, "errors", service="shop", groupByOperation="true", **base)
    check(errs["name"] == "service_operation_error_rate", "errors name")
    check(abs(point_at(errs, a, m - 2) - 2 / 15) < 1e-12, "2 errors of 15")
    check(point_at(errs, b, m - 3) == 0, "no error of GET /b: 0")
    check(point_at(errs, a, m - 3) is None, "no point without calls")

    bounds = [2.0 * 2 ** i for i in range(14)] + [float("inf")]
    counts = [0] * 15
    counts[1] = 10  # 3 ms: (2, 4]
    counts[6] = 5  # 100 ms: (64, 128]
    for q, lo, hi in ((0.5, 2, 4), (0.95, 64, 128), (0.99, 64, 128)):
        lat = metrics(d, "latencies", service="shop", groupByOperation="true", quantile=q,
                      **base)
        check(lat["name"] == "service_operation_latencies", "latencies name")
        check(lat["help"] == "%.2fth quantile latency, grouped by service & operation" % q,
              "latencies help %r" % lat["help"])
        v = point_at(lat, a, m - 2)
        check(lo <= v <= hi, "p%g %r within its bucket (%g, %g]" % (q * 100, v, lo, hi))
        check(abs(v - histogram_quantile(q, counts, bounds)) < 1e-9, "p%g interpolation" % q)
    return calls


def golden(d, m):
    """The exact body of one answer."""
    got = metrics(d, "calls", service="other", spanKind="SPAN_KIND_CONSUMER",
                  endTs=(m - 2) * 60000, lookback=120000, step=60000, ratePer=60000)
    want = {"name": "service_call_rate", "type": "GAUGE", "help": "calls/sec, grouped by service",
            "metrics": [{"labels": [{"name": "service_name", "value": "other"}],
                         "metricPoints": [
                             {"gaugeValue": {"doubleValue": 0},
                              "timestamp": rfc3339((m - 4) * 60000)},
                             {"gaugeValue": {"doubleValue": 7 / 60},
                              "timestamp": rfc3339((m - 3) * 60000)},
                             {"gaugeValue": {"doubleValue": 0},
                              "timestamp": rfc3339((m - 2) * 60000)}]}]}
    check(got == want, "golden calls: %s" % json.dumps(got))
    none = metrics(d, "calls", service="nobody", endTs=m * 60000)
    check(none == {"name": "service_call_rate", "type": "GAUGE",
                   "help": "calls/sec, grouped by service"}, "no series: %r" % none)


def errors(d):
    check(get(d, "/api/metrics/minstep") == {"data": 60000, "total": 0, "limit": 0,
                                             "offset": 0, "errors": None}, "minstep")
    e = get(d, "/api/metrics/throughput?service=shop", want=501)
    check(e["data"] is None and e["errors"][0]["code"] == 501, "501 envelope: %r" % e)
    e = get(d, "/api/metrics/calls", want=400)
    check("service" in e["errors"][0]["msg"], "missing service: %r" % e)
    get(d, "/api/metrics/calls?service=shop&spanKind=sideways", want=400)
    get(d, "/api/metrics/latencies?service=shop", want=400)  # no quantile
    get(d, "/api/metrics/latencies?service=shop&quantile=2", want=400)
    get(d, "/api/metrics/calls?service=shop&groupByOperation=maybe", want=400)
    get(d, "/api/metrics/calls?service=shop&lookback=86400000&step=1", want=400)


def main():
    with Ottrd() as d:
        m = time.time_ns() // MIN_NS
        ingest(d, m)
        wait_for(lambda: point_at(metrics(d, "calls", service="other",
                                          spanKind="SPAN_KIND_CONSUMER", endTs=m * 60000,
                                          lookback=600000, step=60000, ratePer=60000),
                                  {"service_name": "other"}, m - 3),
                 timeout=20, what="span metrics to be flushed")
        before = expect_series(d, m)
        golden(d, m)
        errors(d)
        data = d.data_dir
        # A clean restart: the same series.
        d.stop()
        d.start()
        check(expect_series(d, m) == before, "same series after a restart")
        # More spans; kill -9 once they show: they and the rest stay.
        late = [span(60 + i, "consume", 5, (m - 5) * MIN_NS + 1000 * MS, 1) for i in range(2)]
        post(d.http_port, body([("other", late)]))
        five = lambda: point_at(metrics(d, "calls", service="other", spanKind="SPAN_KIND_CONSUMER",
                                        endTs=m * 60000, lookback=600000, step=60000,
                                        ratePer=60000), {"service_name": "other"}, m - 5)
        wait_for(lambda: round(five() * 60, 9) == 2, timeout=20, what="the late spans")
        d.kill9()
        d.start()
        check(expect_series(d, m) == before, "same series after kill -9")
        check(round(five() * 60, 9) == 2, "the late spans after kill -9")
        check(d.data_dir == data, "same data dir")
    print("ok")


if __name__ == "__main__":
    main()
