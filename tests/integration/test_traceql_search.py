"""tests/integration/test_traceql_search.py - the real OpenTelemetry Python SDK
sends two traces (tests/integration/sdk/emit_traceql.py) and Tempo's
/api/search answers TraceQL as Grafana sends it: structural operators and
their union and negated forms, pipelines with aggregates, by() and select(),
scopes and intrinsics; each answer in Tempo's shape (spanSets with matched
spans and the by()/aggregate attributes, and the older spanSet); a metrics
query or a bad one is a 400 naming the problem.

Needs the packages `scripts/bootstrap --test` installs into
tests/integration/sdk/.venv; fails, never skips, without them."""
import json
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_PY = os.path.join(HERE, "sdk", ".venv", "bin", "python")
CONFIG = """\
sampling:
  decision_wait: 1s
  decision_wait_after_root: 200ms
  policies:
    - name: everything
      type: always_sample
"""


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def emit(d):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OTEL_") and k not in ("ASAN_OPTIONS", "UBSAN_OPTIONS")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    r = subprocess.run([VENV_PY, os.path.join(HERE, "sdk", "emit_traceql.py"),
                        "--endpoint", "127.0.0.1:%d" % d.http_port],
                       capture_output=True, text=True, timeout=60, env=env)
    check(r.returncode == 0, "emit_traceql.py failed: %s" % r.stderr[-2000:])
    return json.loads(r.stdout)


def search(d, q, **params):
    params["q"] = q
    code, body = d.get(d.query_port, "/api/search?" + urllib.parse.urlencode(params))
    check(code == 200, "%s: %d %r" % (q, code, body[:300]))
    return json.loads(body)


def names(res, trace):
    """The span names of each span set of |trace| in |res|, or None when absent."""
    for t in res["traces"]:
        if t["traceID"] == trace:
            return [sorted(s["name"] for s in ss["spans"]) for ss in t["spanSets"]]
    return None


def main():
    check(os.access(VENV_PY, os.X_OK),
          "the Python SDK virtualenv %s is missing; run `scripts/bootstrap --test`" % VENV_PY)
    d = Ottrd().with_config(CONFIG)
    with d:
        ids = emit(d)
        shop, health = ids["shop"], ids["health"]
        wait_for(lambda: names(search(d, "{}", spss=20), shop) == [[
            "GET /api/products/{id}", "GET /cart", "SELECT", "cache get", "call auth",
            "call cart"]] and names(search(d, "{}"), health) is not None,
            timeout=30, what="both traces searchable")

        # Structural: the right side's spans; unions both; negations without the relation.
        res = search(d, '{ resource.service.name = "frontend" } >> { status = error }')
        check(names(res, shop) == [["GET /cart", "SELECT", "call auth"]], "descendant: %r" % res)
        check(names(res, health) is None, "descendant: the health trace has no error")
        res = search(d, '{ } !< { resource.service.name = "cart" }')
        check(names(res, shop) == [["SELECT", "cache get"]], "leaf spans: %r" % res)
        res = search(d, '{ name = "call cart" } &>> { status = error }')
        check(names(res, shop) == [["GET /cart", "SELECT", "call cart"]], "union: %r" % res)
        res = search(d, '{ name = "SELECT" } ~ { name = "cache get" }')
        check(names(res, shop) == [["cache get"]], "sibling: %r" % res)
        res = search(d, '{ kind = server } > { kind = client } > { kind = server }')
        check(names(res, shop) == [["GET /cart"]], "child chain: %r" % res)

        # Pipelines: aggregates filter traces; by() splits span sets and says by what.
        res = search(d, '{ status = error } | by(resource.service.name) | count() > 1')
        t = [t for t in res["traces"] if t["traceID"] == shop][0]
        check(len(t["spanSets"]) == 1 and t["spanSets"][0]["matched"] == 2, "by: %r" % t)
        attrs = {a["key"]: a["value"] for a in t["spanSets"][0]["attributes"]}
        check(attrs == {"by(resource.service.name)": {"stringValue": "cart"},
                        "count()": {"intValue": "2"}}, "by attributes: %r" % attrs)
        check(t["spanSet"] == t["spanSets"][0], "the older spanSet is the first span set")
        res = search(d, '{ status = error } | by(resource.service.name)')
        check(sorted(names(res, shop)) == [["GET /cart", "SELECT"], ["call auth"]],
              "two span sets: %r" % names(res, shop))
        res = search(d, "{ } | count() > 5")
        check(names(res, shop) is not None and names(res, health) is None, "count: %r" % res)
        res = search(d, "{ kind = client } | avg(duration) > 1h")
        check(res["traces"] == [], "avg: %r" % res)
        res = search(d, '{ status = error } | select(span.http.status_code, span:statusMessage)')
        t = [t for t in res["traces"] if t["traceID"] == shop][0]
        spans = {s["name"]: {a["key"]: a["value"] for a in s["attributes"]}
                 for s in t["spanSets"][0]["spans"]}
        check(spans["GET /cart"].get("http.status_code") == {"intValue": "500"},
              "select: %r" % spans)
        check(spans["call auth"].get("statusMessage") == {"stringValue": "denied"},
              "select: %r" % spans)
        res = search(d, '({ kind = client } | count() > 2) && ({ status = error } | count() > 2)',
                     spss=10)
        check(names(res, shop) == [["GET /cart", "SELECT", "call auth", "call cart"]],
              "pipelines joined: %r" % names(res, shop))

        # Scopes and intrinsics with Tempo's names.
        for q, want in [
                ('{ event:name = "exception" && event.exception.message =~ ".*wrong.*" }',
                 ["SELECT"]),
                ('{ link:traceID = "%s" && link.opentracing.ref_type = "follows_from" }' % health,
                 ["cache get"]),
                ('{ instrumentation:name = "grpc" && instrumentation:version = "1.0" && '
                 'span:kind = server }', ["GET /cart"]),
                ('{ parent.resource.service.name = "frontend" && resource.service.name = "cart" }',
                 ["GET /cart"]),
                ("{ span:childCount = 2 }", ["GET /api/products/{id}", "GET /cart"]),
                ("{ nestedSetParent < 0 && true }", ["GET /api/products/{id}"]),
                ('{ trace:rootService = "frontend" && trace:rootName = "GET /api/products/{id}" '
                 '&& span.cache.hit }', ["call cart"]),
                ("{ span.http.status_code / 100 = 5 && span:statusMessage != nil }",
                 ["GET /cart", "call auth"]),
                ('{ name = "SELECT" } | { span:parentID != nil && span:id != "0" }', ["SELECT"]),
        ]:
            res = search(d, q)
            check(names(res, shop) == [want], "%s: %r" % (q, names(res, shop)))
        # Arrays: = finds an element (through the index), !~ holds when no element matches.
        res = search(d, '{ span.http.request.header.accept = "text/html" }')
        check(names(res, shop) == [["GET /api/products/{id}"]], "array element: %r" % res)
        res = search(d, '{ span.http.request.header.accept !~ "application.*" }')
        check(res["traces"] == [], "array, no element matches: %r" % res)
        res = search(d, '{ trace:id = "%s" }' % health)
        check([t["traceID"] for t in res["traces"]] == [health], "trace:id: %r" % res)

        # What is not a search is refused with its reason.
        code, body = d.get(d.query_port, "/api/search?" + urllib.parse.urlencode(
            {"q": "{ } | rate() by (resource.service.name)"}))
        check(code == 400 and b"TraceQL metrics function" in body, "rate: %r" % body)
        code, body = d.get(d.query_port, "/api/search?" + urllib.parse.urlencode(
            {"q": "{ } | count()"}))
        check(code == 400 and b"an aggregate is compared" in body, "bare count: %r" % body)
    print("ok")


if __name__ == "__main__":
    main()
