"""tests/integration/test_examples_config.py - the example configurations work as
they are: every Ottr config in examples/ passes `ottrd --check-config`, and
examples/ottr.yaml holds every key of `ottrd --help-config`; the OpenTelemetry
Collector configs send to Ottr's ports through components they define (with the
bearertokenauth extension where auth is on); the Grafana provisioning files parse
and point the Tempo and Jaeger datasources at Ottr's ports; the systemd unit passes
`systemd-analyze verify` (when systemd-analyze exists) and keeps its hardening."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIP: PyYAML is missing (Debian's python3-yaml; scripts/bootstrap --test)")
    sys.exit(77)

SRC = os.environ["OTTR_SRC"]
OTTRD = os.environ["OTTRD"]
EX = os.path.join(SRC, "examples")


def load(path):
    with open(os.path.join(EX, path)) as f:
        return yaml.safe_load(f)


def check_config(path):
    r = subprocess.run([OTTRD, "--check-config", os.path.join(EX, path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "ok\n", \
        "%s: exit %d: %s%s" % (path, r.returncode, r.stdout, r.stderr)


def test_ottr_configs():
    for path in ("ottr.yaml", "demo/ottr.yaml"):
        check_config(path)
    # examples/ottr.yaml has every key of the config table, each with a comment
    # on its line or in the block just above it.
    # Keys without a default ("default none": certificates, credential files) can
    # not be given empty: they stand commented out, with a comment, in their section.
    table = re.findall(r"^  ([a-z_][a-z0-9_.]*) \(([a-z|0-9.]*); default ([^)]*)\)",
                       subprocess.run([OTTRD, "--help-config"], capture_output=True,
                                      text=True, check=True).stdout, re.M)
    keys = [k for k, _, _ in table]
    assert len(keys) > 40, keys
    cfg = load("ottr.yaml")
    lines = open(os.path.join(EX, "ottr.yaml")).read().splitlines()
    for key, kind, default in table:
        if default == "none" and kind in ("string", "map"):
            top, leaf = key.split(".")[0], key.split(".")[-1]
            start = [i for i, l in enumerate(lines) if l.startswith(top + ":")]
            assert start, "examples/ottr.yaml lacks the section of %s" % key
            end = next((i for i in range(start[0] + 1, len(lines))
                        if re.match(r"[a-z]", lines[i])), len(lines))
            assert any(re.match(r"\s*#\s*%s:.*#" % re.escape(leaf), lines[i])
                       for i in range(start[0], end)), \
                "examples/ottr.yaml lacks %s (commented, with what it does)" % key
            continue
        node = cfg
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, \
                "examples/ottr.yaml lacks %s" % key
            node = node[part]
        leaf = key.split(".")[-1]
        at = [i for i, l in enumerate(lines) if re.match(r"\s*%s:" % re.escape(leaf), l)]
        assert any("#" in lines[i] or any(lines[j].lstrip().startswith("#")
                                          for j in range(max(0, i - 12), i))
                   for i in at), "examples/ottr.yaml: %s has no comment" % key
    # A typo is caught (the check is real, not a stub).
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(open(os.path.join(EX, "ottr.yaml")).read().replace("retention:", "retenton:"))
        f.flush()
        r = subprocess.run([OTTRD, "--check-config", f.name], capture_output=True, text=True)
        assert r.returncode == 2 and "store.retenton: unknown key" in r.stderr, r.stderr


def test_collector_configs():
    ports = {"otlp/ottr": ":4317", "otlphttp/ottr": ":4318"}
    for path in ("otel-collector/config.yaml", "otel-collector/config-auth.yaml",
                 "otel-collector/config-loadbalancing.yaml"):
        c = load(path)
        svc = c["service"]
        for ext in svc.get("extensions", []):
            assert ext in c.get("extensions", {}), "%s: extension %s undefined" % (path, ext)
        pipe = svc["pipelines"]["traces"]
        for kind in ("receivers", "processors", "exporters"):
            for name in pipe.get(kind, []):
                assert name in c[kind], "%s: %s %s undefined" % (path, kind, name)
        for name, exp in c["exporters"].items():
            if name in ports:
                assert ports[name] in exp["endpoint"], (path, name, exp["endpoint"])
        if path.endswith("auth.yaml"):
            assert "bearertokenauth/ottr" in svc["extensions"]
            for name in ports:
                exp = c["exporters"][name]
                assert exp["auth"]["authenticator"] == "bearertokenauth/ottr", name
                assert exp["tls"].get("ca_file") and not exp["tls"].get("insecure"), name
        if path.endswith("loadbalancing.yaml"):
            lb = c["exporters"]["loadbalancing/ottr"]
            assert lb["routing_key"] == "traceID"
            assert all(h.endswith(":4317") for h in lb["resolver"]["static"]["hostnames"])


def test_grafana_datasources():
    ds = {d["type"]: d for d in load("grafana/provisioning/datasources/ottr.yaml")["datasources"]}
    assert ds["tempo"]["url"].endswith(":3200"), ds["tempo"]
    assert ds["jaeger"]["url"].endswith(":16686"), ds["jaeger"]
    # The service map and the span-to-metrics links read the Prometheus datasource.
    prom = ds["prometheus"]["uid"]
    assert ds["tempo"]["jsonData"]["serviceMap"]["datasourceUid"] == prom
    assert ds["tempo"]["jsonData"]["tracesToMetrics"]["datasourceUid"] == prom
    # Streaming is served (gRPC on the query port), so the example turns it on.
    assert ds["tempo"]["jsonData"]["streamingEnabled"] == {"search": True, "metrics": True}
    prov = load("grafana/provisioning/dashboards/ottr.yaml")
    assert prov["providers"][0]["type"] == "file"


def test_systemd_unit():
    unit = open(os.path.join(EX, "systemd/ottrd.service")).read()
    for want in ("User=ottr", "ProtectSystem=strict", "ReadWritePaths=/var/lib/ottr",
                 "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes",
                 "RestrictAddressFamilies=", "MemoryMax=", "LimitNOFILE=",
                 "ExecReload=/bin/kill -HUP $MAINPID", "--check-config /etc/ottr/ottr.yaml"):
        assert want in unit, "ottrd.service lacks " + want
    tool = shutil.which("systemd-analyze")
    if tool is None:
        print("note: systemd-analyze is missing, ottrd.service not verified")
        return
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ottrd.service")
        with open(path, "w") as f:
            f.write(unit.replace("/usr/local/bin/ottrd", OTTRD))
        r = subprocess.run([tool, "verify", "--man=no", path], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and not r.stderr.strip(), r.stderr
        # The exposure score systemd gives the unit (0 = locked down, 10 = exposed).
        r = subprocess.run([tool, "security", "--offline=yes", path], capture_output=True,
                           text=True, timeout=60)
        m = re.search(r"Overall exposure level for ottrd.service: ([0-9.]+)", r.stdout)
        if r.returncode == 0 and m:
            assert float(m.group(1)) <= 2.0, r.stdout[-2000:]


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
    print("PASS")
