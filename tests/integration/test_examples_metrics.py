"""tests/integration/test_examples_metrics.py - the alert rules and the Grafana
dashboard read metrics that exist: every metric named in examples/prometheus/
ottr-alerts.yml, the dashboard of examples/grafana/dashboards/ and the datasources'
queries is a series on a real ottrd's /metrics once the demo shop has sent it spans;
the rules pass `promtool check rules` and their unit tests (`promtool test rules`), the
scrape config `promtool check config`; the dashboard is valid JSON whose panels all
have queries."""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

try:
    import yaml
except ImportError:
    print("SKIP: PyYAML is missing (Debian's python3-yaml; scripts/bootstrap --test)")
    sys.exit(77)

SRC = os.environ["OTTR_SRC"]
EX = os.path.join(SRC, "examples")
PY = os.path.join(SRC, "tests/integration/sdk/.venv/bin/python")
# Ottr's metric names; `up` is Prometheus's own, per scrape target.
METRIC = re.compile(r"(?<![A-Za-z0-9_.\"])((?:ottr|traces|process)_[A-Za-z0-9_]+|up(?=\{))")


def names_in(text):
    return set(METRIC.findall(text)) - {"up"}


def series_names(metrics_text):
    names = set()
    for line in metrics_text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names


def exprs(node):
    """Every PromQL string of a dashboard: targets' expr and variables' queries."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("expr", "definition") and isinstance(v, str):
                yield v
            elif k == "query" and isinstance(v, (str, dict)):
                yield v if isinstance(v, str) else v.get("query", "")
            else:
                yield from exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs(v)


def main():
    if not os.path.exists(PY):
        print("SKIP: no OpenTelemetry SDK in %s (scripts/bootstrap --test)" % PY)
        return 77
    rules_path = os.path.join(EX, "prometheus/ottr-alerts.yml")
    rules = yaml.safe_load(open(rules_path))
    alert_text = "\n".join(r["expr"] + json.dumps(r.get("annotations", {}))
                           for g in rules["groups"] for r in g["rules"])
    want_alerts = {"OttrServiceErrorRate", "OttrServiceLatencyHigh", "OttrNoSpans",
                   "OttrBackpressure", "OttrStoreWritesFailing", "OttrStoreWriteErrors",
                   "OttrDiskNearlyFull"}
    have = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert want_alerts <= have, want_alerts - have

    dash = json.load(open(os.path.join(EX, "grafana/dashboards/ottr.json")))
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    assert len(panels) >= 10 and all(p["targets"] for p in panels)
    dash_text = "\n".join(exprs(dash))
    ds_text = "\n".join(exprs(yaml.safe_load(
        open(os.path.join(EX, "grafana/provisioning/datasources/ottr.yaml")))))
    assert "traces_spanmetrics_calls_total" in dash_text and "ottr_store_" in dash_text

    with Ottrd("--config", os.path.join(EX, "demo/ottr.yaml")) as d:
        r = subprocess.run([PY, os.path.join(EX, "demo/app.py"), "--endpoint",
                            "127.0.0.1:%d" % d.http_port, "--seconds", "1", "--rate", "20"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr

        def have_series():
            st, body = d.get(d.query_port, "/metrics")
            names = series_names(body.decode())
            return names if {"traces_service_graph_request_total",
                             "traces_spanmetrics_latency_bucket"} <= names else None
        names = wait_for(have_series, what="span metrics and service graph series")
    for where, text in (("ottr-alerts.yml", alert_text), ("dashboards/ottr.json", dash_text),
                        ("datasources/ottr.yaml", ds_text)):
        used = names_in(text)
        assert used, where
        missing = sorted(used - names)
        assert not missing, "%s names metrics ottrd does not export: %s" % (where, missing)

    promtool = shutil.which("promtool")
    if promtool is None:
        print("SKIP: promtool is missing (Debian's prometheus; scripts/bootstrap --test): "
              "the metric names are checked, the rules' syntax is not")
        return 77
    pdir = os.path.join(EX, "prometheus")
    for args in (["check", "rules", "ottr-alerts.yml"], ["test", "rules", "ottr-alerts.test.yml"],
                 ["check", "config", "--syntax-only", "prometheus.yml"]):
        r = subprocess.run([promtool] + args, cwd=pdir, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, "promtool %s: %s%s" % (" ".join(args), r.stdout, r.stderr)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
