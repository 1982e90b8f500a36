"""tests/integration/test_overload.py - ottrd driven at about twice what it can take.

What a user would notice under overload, with small memory budgets and every trace
kept (no policies):
  - push-back: exports are refused (gRPC UNAVAILABLE, HTTP 503 with Retry-After and
    a RetryInfo) rather than queued without end;
  - memory: the daemon's RSS (VmRSS, sampled every 100 ms) at twice the capacity
    does not grow past what a short burst took (nothing queues without bound);
    whether it stays within the configured budgets (docs/RELIABILITY.md) is
    printed, and checked with OTTR_OVERLOAD_STRICT_RSS=1 (not met yet);
  - no acknowledged span lost: as many traces are stored as were acknowledged
    (loadgen over gRPC, plus a small OTLP/HTTP JSON client here), and every HTTP
    one and a random sample of the gRPC ones are found by ID with all their spans;
  - recovery: once the load drops, exports are accepted again within a deadline
    (20 in a row answered 200).

The load: loadgen first runs flat out for a few seconds, so that the sampler's
writer measures how many kept traces per second it copies (ottrd's capacity:
new traces are let in at that pace), then sends at twice that. bench/overload
runs the same longer against a Release build and prints the figures
(OTTR_OVERLOAD_CALIBRATE_S, OTTR_OVERLOAD_SECONDS)."""
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402
from test_crash_kill9 import read_ids  # noqa: E402

MiB = 1 << 20
# Small budgets so that overload comes quickly (docs/CONFIG.md).
BUDGETS = {"sampling.max_memory": 16 * MiB, "store.memtable_size": 8 * MiB,
           "store.block_cache_size": 4 * MiB}
CONFIG = """sampling:
  decision_wait: 2s
  decision_wait_after_root: 200ms
  max_buffered_traces: 4000
  max_memory: 16MiB
store:
  memtable_size: 8MiB
  block_cache_size: 4MiB
"""
# Loadgen's workload: 4 traces x 32 spans per request (~43 KB), so that checking
# every acknowledged trace by ID stays quick.
SPANS_PER_TRACE = 32
# Acknowledged loadgen traces looked up by ID (all are counted as stored).
VERIFY_SAMPLE = int(os.environ.get("OTTR_OVERLOAD_VERIFY", "1500"))
WORKLOAD = ["--traces-per-request", "4", "--spans-per-trace", str(SPANS_PER_TRACE),
            "--workers", "2"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def rss_budget_bytes(idle_rss):
    """The memory budget of docs/RELIABILITY.md: RSS idle after start plus the
    sampler's budget, the memtables and the block cache, plus 10%."""
    return int(1.1 * (idle_rss + sum(BUDGETS.values())))


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def metric(d, name, label=""):
    status, body = d.get(d.query_port, "/metrics")
    check(status == 200, "/metrics answered %d" % status)
    total = None
    for m in re.finditer(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), body.decode(), re.M):
        if label in (m.group(1) or ""):
            total = (total or 0) + float(m.group(2))
    return total


def wait_drained(d):
    """Waits until every buffered trace is decided and every kept one copied."""
    wait_for(lambda: metric(d, "ottr_sampler_keep_queue_traces") == 0 and
             metric(d, "ottr_sampler_traces_buffered") == 0, timeout=60,
             what="the keep queue to drain")


class RssSampler(threading.Thread):
    """Samples VmRSS of |pid| every 100 ms until stopped; keeps the peak."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopping = pid, 0, threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except OSError:
                return
            self.stopping.wait(0.1)

    def take_peak(self):
        """The peak so far; starts a new one."""
        peak, self.peak = self.peak, 0
        return peak

    def stop(self):
        self.stopping.set()
        self.join()
        return self.peak


class HttpClient:
    """OTLP/HTTP JSON exports, one trace of 4 spans each, from a few threads:
    records the trace IDs answered 200 and counts push-back (429/503), checking
    that each carries Retry-After and a RetryInfo."""

    def __init__(self, port, rng):
        self.port, self.rng = port, rng
        self.lock = threading.Lock()
        self.acked, self.pushed_back, self.other = [], 0, []

    def body(self, trace):
        now = time.time_ns()
        spans = [{"traceId": trace, "spanId": "%016x" % (i + 1), "name": "op%d" % i,
                  "kind": 2, "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000),
                  "attributes": [{"key": "pad", "value": {"stringValue": "x" * 256}}]}
                 for i in range(4)]
        for s in spans[1:]:
            s["parentSpanId"] = "%016x" % 1
        return json.dumps({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name",
                                         "value": {"stringValue": "overload"}}]},
            "scopeSpans": [{"spans": spans}]}]}).encode()

    def export(self, conn):
        """One export; returns its HTTP status (0: no answer)."""
        with self.lock:
            trace = "%032x" % self.rng.getrandbits(128)
        try:
            conn.request("POST", "/v1/traces", self.body(trace),
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            with self.lock:
                self.other.append(repr(e))
            return 0
        with self.lock:
            if r.status == 200:
                self.acked.append(trace)
            elif r.status in (429, 503):
                self.pushed_back += 1
                if not r.getheader("Retry-After") or b"RetryInfo" not in body:
                    self.other.append("%d without Retry-After/RetryInfo: %r %r" % (
                        r.status, r.getheaders(), body[:200]))
            else:
                self.other.append("%d %r" % (r.status, body[:200]))
        return r.status

    def run_until(self, stop, threads=1):
        def loop():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            while not stop.is_set():
                self.export(conn)
            conn.close()
        ts = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
        for t in ts:
            t.start()
        return ts


def loadgen(d, ids_file, seconds, seed, rate=None):
    args = [os.environ["LOADGEN"], "--protocol", "grpc", "--target",
            "127.0.0.1:%d" % d.grpc_port, "--duration", str(seconds), "--inflight", "16",
            "--ids-file", ids_file, "--seed", str(seed), "--timeout", "10"] + WORKLOAD
    if rate:
        args += ["--rate", str(int(rate))]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60).stdout
    m = re.search(r"^RESULT (.*)$", out, re.M)
    check(m, "loadgen printed no RESULT: " + out[-500:])
    res = {k: float(v) for k, v in (p.split("=") for p in m.group(1).split())}
    st = re.search(r"^status:(.*)$", out, re.M)
    res["status"] = dict(p.split("=") for p in st.group(1).split()) if st else {}
    return res


def missing_traces(d, acked, deadline_s):
    """Looks up every trace of |acked| (ID -> span count) by ID until each has all
    its spans or the deadline passes; returns those still missing."""
    conn = http.client.HTTPConnection("127.0.0.1", d.query_port, timeout=10)
    missing = dict(acked)
    deadline = time.monotonic() + deadline_s
    while missing and time.monotonic() < deadline:
        for tid in list(missing):
            conn.request("GET", "/api/traces/" + tid)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                continue
            doc = json.loads(body)
            n = sum(len(ss.get("spans", [])) for rs in doc.get("batches", [])
                    for ss in rs.get("scopeSpans", []))
            if n >= missing[tid]:
                del missing[tid]
        if missing:
            time.sleep(0.2)
    conn.close()
    return missing


def run(calibrate_s, overload_s, verbose=False):
    """Runs the phases; returns the figures. Raises AssertionError on a failure."""
    seed = random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    # ASan's quarantine keeps freed memory (256 MiB by default) on purpose; it is
    # not the daemon's, so it is turned off for the RSS figures.
    if "ASAN_OPTIONS" in os.environ:
        os.environ["ASAN_OPTIONS"] += ":quarantine_size_mb=0"
    fig = {"seed": seed}
    d = Ottrd()
    cfg = os.path.join(d.tmp, "ottr.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    d.args = ["--config", cfg, "--log-level", "warn"]
    ids_file = os.path.join(d.tmp, "acked.txt")
    try:
        d.start()
        fig["idle_rss"] = rss_bytes(d.proc.pid)
        sampler = RssSampler(d.proc.pid)
        sampler.start()

        # Capacity: flat out for a while, so that the writer measures how many kept
        # traces per second it copies; ottrd lets new traces in at that pace.
        cal = loadgen(d, ids_file, calibrate_s, rng.randrange(1 << 30))
        check(cal["ok"] > 0, "nothing acknowledged while calibrating: %r" % cal)
        wait_drained(d)
        fig["rss_calibrate"] = sampler.take_peak()
        fig["capacity_spans_per_s"] = SPANS_PER_TRACE * metric(
            d, "ottr_sampler_keep_capacity_traces_per_second")
        check(fig["capacity_spans_per_s"] > 0, "the writer measured no capacity: %r" % fig)

        # Twice that, with the OTLP/HTTP client alongside.
        client = HttpClient(d.http_port, rng)
        stop = threading.Event()
        threads = client.run_until(stop)
        over = loadgen(d, ids_file, overload_s, rng.randrange(1 << 30),
                       rate=2 * fig["capacity_spans_per_s"])
        stop.set()
        for t in threads:
            t.join()
        fig["overload_acked_spans_per_s"] = over["spans_per_s"]
        fig["rss_overload"] = sampler.take_peak()
        grpc_refused = int(cal["status"].get("UNAVAILABLE", 0)) + \
            int(over["status"].get("UNAVAILABLE", 0))
        fig["grpc_requests"] = cal["ok"] + cal["errors"] + over["ok"] + over["errors"]
        fig["grpc_pushed_back"] = grpc_refused
        fig["http_acked"], fig["http_pushed_back"] = len(client.acked), client.pushed_back
        check(not client.other, "HTTP answers other than 200 or push-back: %r" %
              client.other[:3])
        for r in (cal, over):
            unexpected = {k: v for k, v in r["status"].items() if k not in ("OK", "UNAVAILABLE")}
            check(not unexpected, "gRPC answers other than OK or UNAVAILABLE: %r" % unexpected)
        check(grpc_refused + client.pushed_back > 0,
              "no push-back at twice the capacity: %r" % fig)

        # Recovery: at a normal rate, 20 exports in a row are accepted.
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
        streak = [0]

        def accepted_in_a_row():
            streak[0] = streak[0] + 1 if client.export(conn) == 200 else 0
            return streak[0] >= 20
        wait_for(accepted_in_a_row, timeout=30, what="20 exports in a row accepted after overload")
        fig["recovery_s"] = time.monotonic() - t0
        conn.close()

        # Every acknowledged trace is stored once the keep queue has drained.
        t0 = time.monotonic()
        wait_drained(d)
        fig["drain_s"] = time.monotonic() - t0
        fig["rss_after"] = sampler.stop()
        acked = read_ids(ids_file)
        acked.update({t: 4 for t in client.acked})
        fig["acked_traces"] = len(acked)
        # Every acknowledged trace was stored (each is sent in one request, so it
        # is kept once), and a sample of them, with every HTTP one, is found by ID
        # with all its spans.
        kept = metric(d, "ottr_store_kept_traces_total")
        check(kept == len(acked), "%s traces stored, %d acknowledged" % (kept, len(acked)))
        sample = dict(rng.sample(sorted(acked.items()), min(VERIFY_SAMPLE, len(acked))))
        sample.update({t: 4 for t in client.acked})
        t0 = time.monotonic()
        missing = missing_traces(d, sample, 60)
        fig["verified"], fig["verify_s"] = len(sample), time.monotonic() - t0
        check(not missing, "%d of %d acknowledged traces not found, e.g. %r" % (
            len(missing), len(sample), list(missing.items())[:3]))

        fig["rss_budget"] = rss_budget_bytes(fig["idle_rss"])
        if verbose:
            report(fig)
        # Sustained overload must not grow memory past what a short burst took:
        # nothing queues without bound.
        check(fig["rss_overload"] <= 1.1 * max(fig["rss_calibrate"], fig["rss_budget"]),
              "RSS at 2x capacity %.1f MiB, over 1.1 x the burst's %.1f MiB" % (
                  fig["rss_overload"] / MiB, fig["rss_calibrate"] / MiB))
        # Within the configured budgets: not met yet (docs/RELIABILITY.md), so
        # checked only on request.
        if os.environ.get("OTTR_OVERLOAD_STRICT_RSS"):
            peak = max(fig["rss_calibrate"], fig["rss_overload"], fig["rss_after"])
            check(peak <= fig["rss_budget"],
                  "peak RSS %.1f MiB over idle + budgets + 10%% = %.1f MiB" % (
                      peak / MiB, fig["rss_budget"] / MiB))
        d.stop()
    except BaseException:
        d.dump_log()
        print("overload seed %d, figures %r" % (seed, fig), file=sys.stderr, flush=True)
        raise
    finally:
        d.cleanup()
    return fig


def report(fig):
    refused = fig["grpc_pushed_back"] + fig["http_pushed_back"]
    print("capacity (writer, measured)%8.0f spans/s" % fig["capacity_spans_per_s"])
    print("acked at 2x capacity (gRPC)%8.0f spans/s" % fig["overload_acked_spans_per_s"])
    print("push-back                  %8d gRPC of %d, %d HTTP (%d acked)" % (
        fig["grpc_pushed_back"], fig["grpc_requests"], fig["http_pushed_back"],
        fig["http_acked"]))
    print("push-back answers          %8d" % refused)
    print("recovered after            %8.2f s" % fig["recovery_s"])
    print("keep queue drained after   %8.2f s" % fig["drain_s"])
    print("acknowledged traces stored %8d (%d found by ID in %.1f s)" % (
        fig["acked_traces"], fig["verified"], fig["verify_s"]))
    print("RSS idle                   %8.1f MiB" % (fig["idle_rss"] / MiB))
    print("RSS peak at 2x capacity    %8.1f MiB" % (fig["rss_overload"] / MiB))
    print("RSS peak, calibration/after%8.1f / %.1f MiB" % (fig["rss_calibrate"] / MiB,
                                                          fig["rss_after"] / MiB))
    print("RSS budget: idle + budgets + 10%%  %.1f MiB" % (fig["rss_budget"] / MiB), flush=True)


if __name__ == "__main__":
    fig = run(float(os.environ.get("OTTR_OVERLOAD_CALIBRATE_S", "2")),
              float(os.environ.get("OTTR_OVERLOAD_SECONDS", "4")), verbose=True)
    print("PASS")
