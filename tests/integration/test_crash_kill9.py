"""tests/integration/test_crash_kill9.py - an acknowledged span is never lost.

The load generator sends traces over OTLP/gRPC and records the ID and span count
of every trace whose request was acknowledged; meanwhile ottrd is killed with
SIGKILL at random moments and restarted on the same data directory, several
cycles. With every trace kept (no policies), afterwards each acknowledged trace
must be retrievable with exactly its spans, once each (no loss, no duplicates).

The kill moments and the load generator's seeds come from one random seed, printed
at the start; a failed run is replayed with the same kill moments (as near as
timing allows) by passing it back: --seed N or OTTR_CRASH_SEED=N."""
import http.client
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

CYCLES = int(os.environ.get("OTTR_CRASH_CYCLES", "4"))


def fetch_span_ids(conn, trace_id):
    """Returns the list of span IDs of a trace (via the Tempo API, OTLP JSON), or
    None when the trace is unknown."""
    import json
    conn.request("GET", "/api/traces/" + trace_id)
    r = conn.getresponse()
    body = r.read()
    if r.status == 404:
        return None
    assert r.status == 200, "GET trace %s: %d %s" % (trace_id, r.status, body[:200])
    doc = json.loads(body)
    ids = []
    for rs in doc.get("batches", doc.get("resourceSpans", [])):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                ids.append(sp["spanId"])
    return ids


def crash_seed(argv):
    """The seed: --seed N (or --seed=N), else $OTTR_CRASH_SEED, else a fresh one."""
    for i, a in enumerate(argv):
        if a == "--seed" and i + 1 < len(argv):
            return int(argv[i + 1])
        if a.startswith("--seed="):
            return int(a.split("=", 1)[1])
    env = os.environ.get("OTTR_CRASH_SEED", "")
    return int(env) if env else random.SystemRandom().randrange(1 << 31)


def read_ids(path):
    """The traces of loadgen's --ids-file: trace ID (hex) -> span count."""
    acked = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                acked[parts[0]] = int(parts[1])
    return acked


def verify(d, ids_file, what):
    """Every acknowledged trace of |ids_file| is retrievable with exactly its spans,
    once each; |d| is running."""
    acked = read_ids(ids_file)
    assert len(acked) > 100, "too few acknowledged traces: %d" % len(acked)
    conn = http.client.HTTPConnection("127.0.0.1", d.query_port, timeout=10)
    missing = dict(acked)
    deadline = time.monotonic() + 90
    while missing and time.monotonic() < deadline:
        for tid in list(missing):
            ids = fetch_span_ids(conn, tid)
            if ids is None or len(ids) < missing[tid]:
                continue
            assert len(ids) == len(set(ids)), "trace %s has duplicate spans" % tid
            assert len(ids) == missing[tid], \
                "trace %s: %d spans stored, %d acknowledged" % (tid, len(ids), missing[tid])
            del missing[tid]
        if missing:
            time.sleep(0.2)
    assert not missing, "%d of %d acknowledged traces lost or incomplete, e.g. %s" % (
        len(missing), len(acked), list(missing.items())[:3])
    print("PASS: %d acknowledged traces over %s, all retrievable once" % (len(acked), what))


def run(argv, load_args, stops):
    """Runs ottrd under |load_args| load, ending cycle i with stops[i] ("kill" =
    SIGKILL at a random moment, "term" = SIGTERM at a random moment, under load),
    restarts it on the same data directory each time, then verifies."""
    loadgen = os.environ["LOADGEN"]
    seed = crash_seed(argv)
    print("crash seed %d (replay with --seed %d or OTTR_CRASH_SEED=%d)" % (seed, seed, seed),
          flush=True)
    rng = random.Random(seed)
    d = Ottrd()
    cfg = os.path.join(d.tmp, "ottr.yaml")
    with open(cfg, "w") as f:
        f.write("sampling:\n  decision_wait: 3s\n  decision_wait_after_root: 300ms\n")
    d.args = ["--config", cfg]
    ids_file = os.path.join(d.tmp, "acked.txt")
    try:
        for cycle, how in enumerate(stops):
            d.start()
            lg = subprocess.Popen(
                [loadgen, "--protocol", "grpc", "--target", "127.0.0.1:%d" % d.grpc_port,
                 "--duration", "30", "--ids-file", ids_file, "--seed",
                 str(rng.randrange(1 << 30))] + load_args,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Let some requests be acknowledged, then stop at a random moment.
            start_lines = count_lines(ids_file)
            wait_for(lambda: count_lines(ids_file) > start_lines + 20, timeout=30,
                     what="acknowledged traces in cycle %d" % cycle)
            time.sleep(rng.uniform(0.05, 1.5))  # the random moment, not a wait on a condition
            if how == "term":
                d.stop()  # a clean exit under load, whatever is still queued
            else:
                d.kill9()
            lg.kill()
            lg.wait()
        # Final start: replay pending, decide everything, then check.
        d.start()
        verify(d, ids_file, "%d cycles (%s)" % (len(stops), ", ".join(stops)))
        d.stop()
    except BaseException:
        d.dump_log()
        print("crash seed was %d" % seed, file=sys.stderr, flush=True)
        raise
    finally:
        d.cleanup()


def main():
    run(sys.argv[1:], ["--workers", "2", "--inflight", "4", "--traces-per-request", "4",
                       "--spans-per-trace", "6"], ["kill"] * CYCLES)


def count_lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


if __name__ == "__main__":
    main()
