"""tests/integration/test_sdk_exporters.py - the real OpenTelemetry SDK exporters
(JavaScript OTLP gRPC, HTTP protobuf and HTTP JSON; Python OTLP gRPC and HTTP protobuf)
each send a known trace to ottrd, and the trace read back through the Tempo API
(GET /api/traces/<id>, OTLP JSON) must match what the SDK sent, field by field.

Needs node and the packages that `scripts/bootstrap --test` installs into
tests/integration/sdk/ (node_modules and .venv); fails, never skips, without them."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.join(HERE, "sdk")
VENV_PY = os.path.join(SDK, ".venv", "bin", "python")
JS_PACKAGES = ["exporter-trace-otlp-grpc", "exporter-trace-otlp-proto",
               "exporter-trace-otlp-http", "sdk-trace-base", "resources", "api", "core"]
TRACE_DEADLINE = 30.0
MAX_SHOWN = 80
CONFIG = """\
sampling:
  decision_wait: 2s
  decision_wait_after_root: 300ms
  policies:
    - name: everything
      type: always_sample
"""

# (label, sdk, protocol, which listener, compression, span processor). The first five
# are the exporters as configured by default (a batch processor: the whole trace in one
# request); the last two turn on gzip (OTEL_EXPORTER_OTLP_COMPRESSION) and use the simple
# processor, so the trace arrives as one request per span, root last.
VARIANTS = [
    ("js-grpc", "js", "grpc", "grpc", "none", "batch"),
    ("js-http-proto", "js", "http-proto", "http", "none", "batch"),
    ("js-http-json", "js", "http-json", "http", "none", "batch"),
    ("py-grpc", "py", "grpc", "grpc", "none", "batch"),
    ("py-http-proto", "py", "http-proto", "http", "none", "batch"),
    ("js-http-proto-gzip-simple", "js", "http-proto", "http", "gzip", "simple"),
    ("py-grpc-gzip-simple", "py", "grpc", "grpc", "gzip", "simple"),
]


def die(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.exit(1)


def check_prerequisites():
    hint = "run `scripts/bootstrap --test` from the repository root to install the SDK clients"
    node = shutil.which("node")
    if node is None:
        die("node is not on PATH; the JavaScript exporter tests need Node.js >= 20.6 (%s)" % hint)
    for p in JS_PACKAGES:
        if not os.path.isfile(os.path.join(SDK, "node_modules", "@opentelemetry", p,
                                           "package.json")):
            die("npm package @opentelemetry/%s is missing from %s/node_modules; %s"
                % (p, SDK, hint))
    if not os.access(VENV_PY, os.X_OK):
        die("the Python SDK virtualenv %s is missing; %s" % (VENV_PY, hint))
    r = subprocess.run([VENV_PY, "-c",
                        "import opentelemetry.sdk.trace, "
                        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter, "
                        "opentelemetry.exporter.otlp.proto.http.trace_exporter"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        die("the Python SDK exporters do not import in %s (%s); %s"
            % (VENV_PY, r.stderr.strip().splitlines()[-1:], hint))
    return node


def child_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OTEL_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "grpc_proxy", "no_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # The emitters are not the code under test: no sanitizer runtime options for them.
    env.pop("ASAN_OPTIONS", None)
    env.pop("UBSAN_OPTIONS", None)
    return env


def run_emitter(node, d, tmp, label, sdk, protocol, listener, compression, processor):
    port = d.grpc_port if listener == "grpc" else d.http_port
    out = os.path.join(tmp, label + ".json")
    if sdk == "js":
        cmd = [node, os.path.join(SDK, "emit.js")]
    else:
        cmd = [VENV_PY, os.path.join(SDK, "emit.py")]
    cmd += ["--endpoint", "127.0.0.1:%d" % port, "--protocol", protocol, "--out", out,
            "--service", "sdk-" + label, "--compression", compression,
            "--processor", processor]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=45, env=child_env(),
                           cwd=SDK)
    except subprocess.TimeoutExpired:
        return None, "%s: emitter did not finish within 45 s" % label
    if r.returncode != 0:
        return None, "%s: the SDK exporter failed to export to ottrd (exit %d):\n%s%s" % (
            label, r.returncode, r.stderr[-3000:], r.stdout[-1000:])
    with open(out) as f:
        return json.load(f), None


# ---- reading the daemon's answer -------------------------------------------------------

def fetch_trace(d, trace_id):
    """GET /api/traces/<id> with no Accept header; (status, parsed JSON or None, raw)."""
    status, body = d.get(d.query_port, "/api/traces/" + trace_id)
    if status != 200:
        return status, None, body
    return status, json.loads(body.decode("utf-8")), body


def resource_spans_of(doc):
    for k in ("batches", "resourceSpans", "resource_spans"):
        if isinstance(doc, dict) and k in doc:
            return doc[k] or []
    raise AssertionError("no \"batches\" (or \"resourceSpans\") key in the answer: %s"
                         % json.dumps(doc)[:300])


def first_key(obj, *names, default=None):
    for n in names:
        if n in obj:
            return obj[n]
    return default


def flatten(doc):
    """[(resource, scope, span)] from an OTLP JSON trace document."""
    out = []
    for rs in resource_spans_of(doc):
        res = rs.get("resource") or {}
        for ss in first_key(rs, "scopeSpans", "scope_spans", "instrumentationLibrarySpans",
                            default=[]) or []:
            scope = first_key(ss, "scope", "instrumentationLibrary", default={}) or {}
            for sp in ss.get("spans") or []:
                out.append((res, scope, sp))
    return out


def count_spans(d, trace_id):
    try:
        status, doc, _ = fetch_trace(d, trace_id)
    except (OSError, ValueError):
        return -1
    if status != 200 or doc is None:
        return 0
    try:
        return len(flatten(doc))
    except AssertionError:
        return 0


# ---- comparing ------------------------------------------------------------------------

class Diff:
    def __init__(self, label):
        self.label = label
        self.problems = []

    def add(self, where, msg):
        self.problems.append("%s: %s: %s" % (self.label, where, msg))


def show(v):
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def norm_hex(v):
    return v.lower() if isinstance(v, str) and re.fullmatch(r"[0-9a-fA-F]*", v) else None


def compare_value(diff, where, sent, got):
    """sent/got are OTLP JSON AnyValue objects; types must match exactly."""
    if not isinstance(got, dict) or len(got) != 1:
        diff.add(where, "sent %s, got %s (not an AnyValue with one field)"
                 % (show(sent), show(got)))
        return
    (stype, sval), = sent.items()
    (gtype, gval), = got.items()
    if gtype != stype:
        diff.add(where, "sent %s, got %s (value type differs)" % (show(sent), show(got)))
        return
    if stype == "intValue":
        if not isinstance(gval, str) or not re.fullmatch(r"-?[0-9]+", gval):
            diff.add(where, "intValue must be a decimal string in OTLP JSON, got %s"
                     % show(got))
        elif int(gval) != int(sval):
            diff.add(where, "sent %s, got %s" % (show(sent), show(got)))
    elif stype == "doubleValue":
        if isinstance(gval, bool) or not isinstance(gval, (int, float)) \
                or float(gval) != float(sval):
            diff.add(where, "sent %s, got %s" % (show(sent), show(got)))
    elif stype == "arrayValue":
        sv = (sval or {}).get("values") or []
        gv = (gval or {}).get("values") if isinstance(gval, dict) else None
        if not isinstance(gv, list) and gval not in ({}, None):
            diff.add(where, "sent %s, got %s" % (show(sent), show(got)))
            return
        gv = gv or []
        if len(gv) != len(sv):
            diff.add(where, "sent %d array elements %s, got %d %s"
                     % (len(sv), show(sent), len(gv), show(got)))
            return
        for i, (a, b) in enumerate(zip(sv, gv)):
            compare_value(diff, "%s[%d]" % (where, i), a, b)
    elif stype == "kvlistValue":
        compare_attributes(diff, where, (sval or {}).get("values") or [],
                           ((gval or {}) if isinstance(gval, dict) else {}).get("values") or [])
    elif gval != sval:
        diff.add(where, "sent %s, got %s" % (show(sent), show(got)))


def compare_attributes(diff, where, sent, got):
    if not isinstance(got, list):
        diff.add(where, "attributes is not a list: %s" % show(got))
        return
    gmap = {}
    for kv in got:
        if not isinstance(kv, dict) or "key" not in kv:
            diff.add(where, "malformed attribute %s" % show(kv))
            continue
        if kv["key"] in gmap:
            diff.add(where, "attribute %r returned twice" % kv["key"])
        gmap[kv["key"]] = kv.get("value")
    for kv in sent:
        k = kv["key"]
        if k not in gmap:
            diff.add(where, "attribute %r (sent %s) is missing" % (k, show(kv["value"])))
            continue
        compare_value(diff, "%s[%r]" % (where, k), kv["value"], gmap.pop(k))
    for k, v in gmap.items():
        diff.add(where, "unexpected attribute %r = %s (never sent)" % (k, show(v)))


def compare_time(diff, where, sent, got):
    if not isinstance(got, str) or not re.fullmatch(r"[0-9]+", got):
        diff.add(where, "must be a decimal string of nanoseconds, sent %s, got %s"
                 % (show(sent), show(got)))
    elif int(got) != int(sent):
        diff.add(where, "sent %s, got %s (off by %d ns)" % (sent, got, int(got) - int(sent)))


def compare_id(diff, where, sent, got):
    if got is None:
        got = ""
    h = norm_hex(got)
    if h is None:
        diff.add(where, "must be hex, sent %s, got %s" % (show(sent), show(got)))
    elif h != sent.lower():
        diff.add(where, "sent %s, got %s" % (show(sent), show(got)))


def compare_span(diff, sent, got):
    w = "span %r" % sent["name"]
    compare_id(diff, w + " traceId", sent["traceId"], got.get("traceId"))
    compare_id(diff, w + " spanId", sent["spanId"], got.get("spanId"))
    compare_id(diff, w + " parentSpanId", sent["parentSpanId"],
               first_key(got, "parentSpanId", "parent_span_id", default=""))
    if got.get("name") != sent["name"]:
        diff.add(w, "name sent %s, got %s" % (show(sent["name"]), show(got.get("name"))))
    kind = got.get("kind")
    if not isinstance(kind, int) or isinstance(kind, bool):
        diff.add(w + " kind", "must be an integer, sent %d, got %s" % (sent["kind"], show(kind)))
    elif kind != sent["kind"]:
        diff.add(w + " kind", "sent %d, got %d" % (sent["kind"], kind))
    compare_time(diff, w + " startTimeUnixNano", sent["startTimeUnixNano"],
                 first_key(got, "startTimeUnixNano", "start_time_unix_nano"))
    compare_time(diff, w + " endTimeUnixNano", sent["endTimeUnixNano"],
                 first_key(got, "endTimeUnixNano", "end_time_unix_nano"))
    compare_attributes(diff, w + " attributes", sent["attributes"],
                       got.get("attributes") or [])

    gev = got.get("events") or []
    if len(gev) != len(sent["events"]):
        diff.add(w + " events", "sent %d events %s, got %d %s"
                 % (len(sent["events"]), show(sent["events"]), len(gev), show(gev)))
    else:
        for i, (se, ge) in enumerate(zip(sent["events"], gev)):
            ew = "%s events[%d]" % (w, i)
            if ge.get("name") != se["name"]:
                diff.add(ew, "name sent %s, got %s" % (show(se["name"]), show(ge.get("name"))))
            compare_time(diff, ew + " timeUnixNano", se["timeUnixNano"],
                         first_key(ge, "timeUnixNano", "time_unix_nano"))
            compare_attributes(diff, ew + " attributes", se["attributes"],
                               ge.get("attributes") or [])

    glk = got.get("links") or []
    if len(glk) != len(sent["links"]):
        diff.add(w + " links", "sent %d links %s, got %d %s"
                 % (len(sent["links"]), show(sent["links"]), len(glk), show(glk)))
    else:
        for i, (sl, gl) in enumerate(zip(sent["links"], glk)):
            lw = "%s links[%d]" % (w, i)
            compare_id(diff, lw + " traceId", sl["traceId"], gl.get("traceId"))
            compare_id(diff, lw + " spanId", sl["spanId"], gl.get("spanId"))
            compare_attributes(diff, lw + " attributes", sl["attributes"],
                               gl.get("attributes") or [])

    gst = got.get("status") or {}
    code = gst.get("code", 0)
    if not isinstance(code, int) or isinstance(code, bool):
        diff.add(w + " status.code", "must be an integer, sent %d, got %s"
                 % (sent["status"]["code"], show(code)))
    elif code != sent["status"]["code"]:
        diff.add(w + " status.code", "sent %d, got %d" % (sent["status"]["code"], code))
    if (gst.get("message") or "") != sent["status"]["message"]:
        diff.add(w + " status.message", "sent %s, got %s"
                 % (show(sent["status"]["message"]), show(gst.get("message"))))



def compare_resource_scope(diff, sent_doc, res, scope):
    compare_attributes(diff, "resource.attributes", sent_doc["resource"]["attributes"],
                       res.get("attributes") or [])
    ss = sent_doc["scope"]
    if scope.get("name") != ss["name"]:
        diff.add("scope.name", "sent %s, got %s" % (show(ss["name"]), show(scope.get("name"))))
    if (scope.get("version") or "") != ss["version"]:
        diff.add("scope.version", "sent %s, got %s"
                 % (show(ss["version"]), show(scope.get("version"))))
    compare_attributes(diff, "scope.attributes", ss.get("attributes") or [],
                       scope.get("attributes") or [])


def compare_trace(label, sent_doc, doc):
    diff = Diff(label)
    try:
        got = flatten(doc)
    except AssertionError as e:
        diff.add("answer", str(e))
        return diff.problems
    by_id = {}
    seen = set()
    for res, scope, sp in got:
        sid = norm_hex(sp.get("spanId") or "")
        if sid in by_id:
            diff.add("span %s" % sp.get("spanId"), "returned twice")
        by_id[sid] = (res, scope, sp)
    for s in sent_doc["spans"]:
        hit = by_id.pop(s["spanId"].lower(), None)
        if hit is None:
            diff.add("span %r (%s)" % (s["name"], s["spanId"]), "missing from the trace")
            continue
        compare_span(diff, s, hit[2])
        # Every span was sent under one resource and scope: check each distinct copy once.
        key = show([hit[0], hit[1]])
        if key not in seen:
            seen.add(key)
            compare_resource_scope(diff, sent_doc, hit[0], hit[1])
    for sid, (_, _, sp) in by_id.items():
        diff.add("span %s" % sid, "returned but never sent: %s" % show(sp)[:300])
    return diff.problems


# ---- metrics --------------------------------------------------------------------------

SAMPLE = re.compile(r"^ottr_receiver_spans_total(\{[^}]*\})?\s+([0-9.eE+-]+)\s*$")


def accepted_spans(d):
    """(grpc, http) accepted-span totals from /metrics."""
    status, body = d.get(d.query_port, "/metrics")
    if status != 200:
        raise AssertionError("/metrics answered %d" % status)
    grpc = http = 0.0
    for line in body.decode("utf-8", "replace").splitlines():
        m = SAMPLE.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if labels.get("result", "accepted") != "accepted":
            continue
        if labels.get("protocol") == "grpc":
            grpc += float(m.group(2))
        elif labels.get("protocol", "").startswith("http"):
            http += float(m.group(2))
    return grpc, http


# ---- main -----------------------------------------------------------------------------

def run_all(d, node):
    problems = []
    grpc0, http0 = accepted_spans(d)
    sent = {}
    for label, sdk, protocol, listener, compression, processor in VARIANTS:
        t0 = time.monotonic()
        doc, err = run_emitter(node, d, d.tmp, label, sdk, protocol, listener, compression,
                               processor)
        if err:
            problems.append(err)
            continue
        sent[label] = doc
        print("%s: exported trace %s (%d spans, %d export call(s)) in %.1f s"
              % (label, doc["traceId"], len(doc["spans"]), doc["exportCalls"],
                 time.monotonic() - t0), flush=True)
    # One deadline for all traces: they were all sent by now.
    deadline = time.monotonic() + TRACE_DEADLINE
    for label, doc in sent.items():
        want = len(doc["spans"])
        while True:
            n = count_spans(d, doc["traceId"])
            if n >= want or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        try:
            status, got, raw = fetch_trace(d, doc["traceId"])
        except (OSError, ValueError) as e:
            problems.append("%s: GET /api/traces/%s did not give OTLP JSON: %s"
                            % (label, doc["traceId"], e))
            continue
        if status != 200:
            problems.append("%s: GET /api/traces/%s answered %d after %.0f s: %r"
                            % (label, doc["traceId"], status, TRACE_DEADLINE, raw[:300]))
            continue
        if n < want:
            problems.append("%s: trace %s still had %d of %d spans after %.0f s"
                            % (label, doc["traceId"], n, want, TRACE_DEADLINE))
        found = compare_trace(label, doc, got)
        problems += found
        print("%s: trace read back, %s" % (label, "%d difference(s)" % len(found)
                                          if found else "every field matches"), flush=True)
    grpc1, http1 = accepted_spans(d)
    listener_of = dict((v[0], v[3]) for v in VARIANTS)
    want_grpc = sum(len(doc["spans"]) for lb, doc in sent.items() if listener_of[lb] == "grpc")
    want_http = sum(len(doc["spans"]) for doc in sent.values()) - want_grpc
    if grpc1 - grpc0 < want_grpc:
        problems.append("metrics: ottr_receiver_spans_total{protocol=\"grpc\","
                        "result=\"accepted\"} grew by %g, expected at least %d"
                        % (grpc1 - grpc0, want_grpc))
    if http1 - http0 < want_http:
        problems.append("metrics: ottr_receiver_spans_total{protocol=\"http...\","
                        "result=\"accepted\"} grew by %g, expected at least %d"
                        % (http1 - http0, want_http))
    print("metrics: accepted spans grpc +%g, http +%g" % (grpc1 - grpc0, http1 - http0))
    return problems


def main():
    if "OTTRD" not in os.environ:
        die("OTTRD must point to the ottrd binary (run through ctest)")
    node = check_prerequisites()
    started = time.monotonic()
    d = Ottrd()
    cfg = os.path.join(d.tmp, "ottr.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    d.args += ["--config", cfg]
    try:
        d.start()
        problems = run_all(d, node)
        if problems:
            d.dump_log()
        try:
            d.stop()
        except AssertionError as e:
            problems.append(str(e))
    except BaseException:
        d.dump_log()
        raise
    finally:
        d.cleanup()
    if problems:
        shown = problems[:MAX_SHOWN]
        if len(problems) > MAX_SHOWN:
            shown.append("... and %d more" % (len(problems) - MAX_SHOWN))
        sys.stderr.write("FAIL: %d problem(s) with SDK exporters:\n  %s\n"
                         % (len(problems), "\n  ".join(shown)))
        return 1
    print("PASS: %d SDK exporter variants round-trip through ottrd in %.1f s"
          % (len(VARIANTS), time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
