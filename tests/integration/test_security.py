"""tests/integration/test_security.py - TLS and authentication on every port, as
real clients use them: a test CA made with the openssl command at run time; the
Python and JavaScript OpenTelemetry exporters (gRPC and HTTP) over TLS with the
bearer header from OTEL_EXPORTER_OTLP_HEADERS; curl with client certificates on
the Tempo port (mTLS); basic auth on the Jaeger port; missing, wrong and
foreign credentials refused on every port (401 with WWW-Authenticate, gRPC
UNAUTHENTICATED) and counted, secrets never logged; certificates and tokens
reloaded by SIGHUP under load without a failed request; the admin port's rules
(off loopback only with a credential). Needs node, curl, openssl and the SDKs of
scripts/bootstrap --test."""
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402
from test_sdk_exporters import VENV_PY, SDK, check_prerequisites, child_env  # noqa: E402

TOKEN = "tok-Secret-4f1c"
NEW_TOKEN = "tok-Rotated-77aa"
PASSWORD = "pw-Basic-93b2"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def sh(*cmd, **kw):
    subprocess.run(cmd, check=True, capture_output=True, **kw)


def make_pki(d):
    """A CA, a server certificate for localhost/127.0.0.1 (twice, for the reload),
    a client certificate CN=alice, and a client certificate from another CA."""
    ext = os.path.join(d, "ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")

    def ca(name):
        sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
           "/CN=" + name, "-keyout", os.path.join(d, name + ".key"),
           "-out", os.path.join(d, name + ".crt"))

    def leaf(name, cn, signer, extfile=None):
        key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
        sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
           "-keyout", key, "-out", csr)
        cmd = ["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(d, signer + ".crt"),
               "-CAkey", os.path.join(d, signer + ".key"), "-CAcreateserial", "-days", "2",
               "-out", os.path.join(d, name + ".crt")]
        if extfile:
            cmd += ["-extfile", extfile]
        sh(*cmd)

    ca("ca")
    ca("rogue-ca")
    leaf("server", "localhost", "ca", ext)
    leaf("server2", "localhost", "ca", ext)
    leaf("alice", "alice", "ca")
    leaf("bob", "bob", "ca")  # signed by the CA, not in the names file
    leaf("mallory", "alice", "rogue-ca")  # the right name, the wrong CA


def config(d):
    p = lambda n: os.path.join(d, n)  # noqa: E731
    with open(p("tokens"), "w") as f:
        f.write("# OTLP senders\n%s team-a\n" % TOKEN)
    # `ottr passwd` makes the line (bcrypt); `openssl passwd -6` (sha512crypt) another.
    h = subprocess.run(["openssl", "passwd", "-6", PASSWORD], check=True, capture_output=True,
                       text=True).stdout.strip()
    line = "grafana:%s" % h
    if os.environ.get("OTTR"):
        line = subprocess.run([os.environ["OTTR"], "passwd", "grafana"], input=PASSWORD + "\n",
                              check=True, capture_output=True, text=True).stdout.strip()
        check(line.startswith("grafana:$2b$"), "ottr passwd: %r" % line)
    with open(p("users"), "w") as f:
        f.write("%s\nops:%s\n" % (line, h))
    with open(p("names"), "w") as f:
        f.write("alice\n")
    for n in ("crt", "key"):
        shutil.copy(p("server." + n), p("live." + n))
    tls = "  tls: {cert_file: %s, key_file: %s}\n" % (p("live.crt"), p("live.key"))
    cfg = p("ottr.yaml")
    with open(cfg, "w") as f:
        f.write("sampling:\n  decision_wait: 1s\n  decision_wait_after_root: 200ms\n")
        # gRPC: a client certificate and a token, both.
        f.write("grpc:\n  tls: {cert_file: %s, key_file: %s, client_ca_file: %s}\n"
                "  auth: {type: bearer, file: %s}\n"
                % (p("live.crt"), p("live.key"), p("ca.crt"), p("tokens")))
        f.write("http:\n" + tls + "  auth: {type: bearer, file: %s}\n" % p("tokens"))
        f.write("query:\n  tls: {cert_file: %s, key_file: %s, client_ca_file: %s}\n"
                "  auth: {type: mtls, file: %s}\n"
                % (p("live.crt"), p("live.key"), p("ca.crt"), p("names")))
        f.write("jaeger:\n" + tls + "  auth: {type: basic, file: %s}\n" % p("users"))
    return cfg


def https(port, path, ca, method="GET", body=None, headers=None):
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request("https://127.0.0.1:%d%s" % (port, path), data=body,
                                 headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def curl(*args):
    r = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10"]
                       + list(args), capture_output=True, text=True, env=child_env())
    body, _, code = r.stdout.rpartition("\n")
    return r.returncode, int(code or 0), body


def served_cert(port, ca, alpn=None, client=None):
    """The DER certificate a new TLS connection to |port| gets."""
    import socket
    ctx = ssl.create_default_context(cafile=ca)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if client:
        base = os.path.join(os.path.dirname(ca), client)
        ctx.load_cert_chain(base + ".crt", base + ".key")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            return t.getpeercert(binary_form=True)


def der_of(pem_path):
    return ssl.PEM_cert_to_DER_cert(open(pem_path).read())


GRPC_CALL = r"""
import sys, grpc
port, ca, authz, cert = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
pair = (open(cert + ".key", "rb").read(), open(cert + ".crt", "rb").read()) if cert else (None, None)
creds = grpc.ssl_channel_credentials(open(ca, "rb").read(), *pair)
ch = grpc.secure_channel("127.0.0.1:" + port, creds)
call = ch.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
md = [("authorization", authz)] if authz else []
try:
    call(b"", metadata=md, timeout=10)
    print("OK")
except grpc.RpcError as e:
    print(e.code().name)
"""


def grpc_status(port, ca, authz, cert="alice"):
    """The status of an Export call with |authz| and the client certificate |cert|."""
    cert = os.path.join(os.path.dirname(ca), cert) if cert else ""
    r = subprocess.run([VENV_PY, "-c", GRPC_CALL, str(port), ca, authz, cert],
                       capture_output=True, text=True, env=child_env(), timeout=30)
    return r.stdout.strip() or r.stderr[-500:]


def emit(node, d, label, sdk, protocol, port, ca, token):
    out = os.path.join(d, label + ".json")
    cmd = ([node, os.path.join(SDK, "emit.js")] if sdk == "js"
           else [VENV_PY, os.path.join(SDK, "emit.py")])
    cmd += ["--endpoint", "127.0.0.1:%d" % port, "--protocol", protocol, "--out", out,
            "--service", "tls-" + label, "--scheme", "https"]
    env = child_env()
    # This machine's CA bundle settings would override the exporters' own.
    for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR",
              "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"):
        env.pop(k, None)
    env["OTEL_EXPORTER_OTLP_HEADERS"] = "authorization=Bearer " + token
    env["OTEL_EXPORTER_OTLP_CERTIFICATE"] = ca
    env["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = os.path.join(d, "alice.crt")
    env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = os.path.join(d, "alice.key")
    env["NODE_EXTRA_CA_CERTS"] = ca
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=45, env=env, cwd=SDK)
    check(r.returncode == 0, "%s over TLS with a bearer header failed:\n%s%s"
          % (label, r.stderr[-2000:], r.stdout[-500:]))


def exporters(node, d, o, ca):
    for label, sdk, proto, port in [("py-grpc", "py", "grpc", o.grpc_port),
                                    ("py-http", "py", "http-proto", o.http_port),
                                    ("js-grpc", "js", "grpc", o.grpc_port),
                                    ("js-http", "js", "http-proto", o.http_port)]:
        emit(node, d, label, sdk, proto, port, ca, TOKEN)
    want = {"tls-py-grpc", "tls-py-http", "tls-js-grpc", "tls-js-http"}
    auth = ["-u", "grafana:" + PASSWORD, "--cacert", ca]

    def services():
        rc, code, body = curl(*auth, "https://127.0.0.1:%d/api/services" % o.jaeger_port)
        return code == 200 and want <= set(json.loads(body)["data"])
    wait_for(services, timeout=30, what="the exporters' services through the Jaeger API")


def refusals(d, o, ca):
    p = lambda n: os.path.join(d, n)  # noqa: E731
    # OTLP/gRPC: UNAUTHENTICATED without or with a wrong token.
    check(grpc_status(o.grpc_port, ca, "") == "UNAUTHENTICATED", "grpc without a token")
    check(grpc_status(o.grpc_port, ca, "Bearer nope") == "UNAUTHENTICATED", "grpc wrong token")
    check(grpc_status(o.grpc_port, ca, "Bearer " + TOKEN) != "UNAUTHENTICATED", "grpc token")
    # ... and no handshake without a client certificate, or with another CA's.
    check(grpc_status(o.grpc_port, ca, "Bearer " + TOKEN, "") == "UNAVAILABLE",
          "grpc without a client certificate")
    check(grpc_status(o.grpc_port, ca, "Bearer " + TOKEN, "mallory") == "UNAVAILABLE",
          "grpc with a rogue CA's client certificate")
    # OTLP/HTTP: 401, the challenge, a google.rpc.Status body in the request's encoding.
    body = b'{"resourceSpans":[]}'
    for hdrs, what in [({}, "missing"), ({"Authorization": "Bearer nope"}, "wrong"),
                       ({"Authorization": "Basic Zm9vOmJhcg=="}, "other scheme")]:
        hdrs["Content-Type"] = "application/json"
        code, rb, rh = https(o.http_port, "/v1/traces", ca, "POST", body, hdrs)
        check(code == 401 and rh["WWW-Authenticate"] == 'Bearer realm="ottr"' and
              json.loads(rb)["code"] == 16, "otlp http %s token: %d %r" % (what, code, rb))
    code, _, _ = https(o.http_port, "/v1/traces", ca, "POST", body,
                       {"Content-Type": "application/json", "Authorization": "Bearer " + TOKEN})
    check(code == 200, "otlp http with the token: %d" % code)
    # Large bodies cross TLS records both ways, over HTTP/1.1 and HTTP/2.
    big = os.path.join(d, "big.json")
    spans = [{"traceId": "%032x" % (0xb16 + i // 50), "spanId": "%016x" % (i + 1),
              "name": "big-%d" % i, "startTimeUnixNano": "1700000000000000000",
              "endTimeUnixNano": "1700000001000000000",
              "attributes": [{"key": "pad", "value": {"stringValue": "x" * 1000}}]}
             for i in range(3000)]
    with open(big, "w") as f:
        json.dump({"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "tls-big"}}]},
            "scopeSpans": [{"spans": spans}]}]}, f)
    for h2 in ("--http1.1", "--http2"):
        rc, code, body = curl(h2, "--cacert", ca, "-H", "Authorization: Bearer " + TOKEN,
                              "-H", "Content-Type: application/json", "--data-binary", "@" + big,
                              "https://127.0.0.1:%d/v1/traces" % o.http_port)
        check(code == 200 and "rejected" not in body, "3 MB over TLS %s: %d %s" % (h2, code, body))
    _, m = o.get(o.admin_port, "/metrics")
    check(len(m) > 64 * 1024, "a large /metrics")
    for h2 in ("--http1.1", "--http2"):
        rc, code, body = curl(h2, "--cacert", ca, "--cert", p("alice.crt"), "--key", p("alice.key"),
                              "https://127.0.0.1:%d/metrics" % o.query_port)
        check(code == 200 and abs(len(body) - len(m)) < 16 * 1024,
              "/metrics over TLS %s: %d bytes, %d in plain text" % (h2, len(body), len(m)))
    # Plain text on a TLS port gets no answer.
    rc, code, _ = curl("-X", "POST", "http://127.0.0.1:%d/v1/traces" % o.http_port)
    check(code != 200, "plain HTTP on the TLS port")
    # Tempo port (mTLS): no certificate, another CA's certificate: no handshake.
    url = "https://127.0.0.1:%d/api/search?limit=1" % o.query_port
    rc, code, _ = curl("--cacert", ca, url)
    check(rc != 0 or code == 0, "tempo without a client certificate: rc %d code %d" % (rc, code))
    rc, code, _ = curl("--cacert", ca, "--cert", p("mallory.crt"), "--key", p("mallory.key"), url)
    check(rc != 0 or code == 0, "tempo with a rogue CA's certificate: rc %d code %d" % (rc, code))
    rc, code, body = curl("--cacert", ca, "--cert", p("alice.crt"), "--key", p("alice.key"), url)
    check(code == 200 and "traces" in body, "tempo with alice's certificate: %d %s" % (code, body))
    for h2 in ("--http1.1", "--http2"):
        rc, code, _ = curl(h2, "--cacert", ca, "--cert", p("alice.crt"), "--key", p("alice.key"),
                           "https://127.0.0.1:%d/api/echo" % o.query_port)
        check(code == 200, "tempo echo %s: %d" % (h2, code))
    # Jaeger port (basic): missing and wrong passwords.
    url = "https://127.0.0.1:%d/api/services" % o.jaeger_port
    for args, what in [([], "missing"), (["-u", "grafana:nope"], "wrong"),
                       (["-u", "nobody:" + PASSWORD], "unknown user"),
                       (["-H", "Authorization: Bearer " + TOKEN], "a token")]:
        rc, code, body = curl("--cacert", ca, "-i", *args, url)
        check(code == 401 and 'www-authenticate: basic realm="ottr"' in body.lower(),
              "jaeger %s: %d %s" % (what, code, body[:200]))
    # Counted on /metrics by listener and reason.
    _, m = o.get(o.admin_port, "/metrics")
    m = m.decode()
    for series in ['ottr_auth_failures_total{listener="http",reason="missing"}',
                   'ottr_auth_failures_total{listener="http",reason="wrong"}',
                   'ottr_auth_failures_total{listener="grpc",reason="missing"}',
                   'ottr_auth_failures_total{listener="grpc",reason="wrong"}',
                   'ottr_auth_failures_total{listener="jaeger",reason="wrong"}',
                   'ottr_http_tls_handshakes_failed_total{server="query"}']:
        line = [x for x in m.splitlines() if x.startswith(series + " ")]
        check(line and float(line[0].split()[1]) >= 1, "%s counted: %r" % (series, line))


def cli(o, d, ca):
    ottr = os.environ.get("OTTR")
    if not ottr:
        return
    p = lambda n: os.path.join(d, n)  # noqa: E731
    base = [ottr, "services", "--server", "https://127.0.0.1:%d" % o.query_port,
            "--jaeger-server", "https://127.0.0.1:%d" % o.jaeger_port]
    r = subprocess.run(base + ["--ca", ca, "--cert", p("alice.crt"), "--key", p("alice.key"),
                               "--user", "grafana:" + PASSWORD], capture_output=True, text=True)
    check(r.returncode == 0, "ottr over https with a client certificate: %s" % r.stderr)
    r = subprocess.run(base + ["--insecure", "--cert", p("alice.crt"), "--key", p("alice.key")],
                       capture_output=True, text=True)
    check(r.returncode == 0 or "401" in r.stderr, "ottr --insecure: %s" % r.stderr)


def reload_under_load(d, o, ca):
    """New certificate and token files, SIGHUP, while requests keep coming: none fails;
    afterwards new connections get the new certificate and the new token works."""
    p = lambda n: os.path.join(d, n)  # noqa: E731
    stop = threading.Event()
    results = {"ok": 0, "failed": []}
    body = b'{"resourceSpans":[]}'
    hdrs = {"Content-Type": "application/json", "Authorization": "Bearer " + TOKEN}

    def load():
        while not stop.is_set():
            try:
                code, rb, _ = https(o.http_port, "/v1/traces", ca, "POST", body, dict(hdrs))
                if code == 200:
                    results["ok"] += 1
                else:
                    results["failed"].append("%d %r" % (code, rb[:100]))
            except Exception as e:  # noqa: BLE001
                results["failed"].append(repr(e))
    # A connection open across the reload stays open and keeps its certificate.
    import http.client
    kept = http.client.HTTPSConnection("127.0.0.1", o.http_port, timeout=10,
                                       context=ssl.create_default_context(cafile=ca))

    def kept_post():
        kept.request("POST", "/v1/traces", body=body, headers=hdrs)
        r = kept.getresponse()
        r.read()
        return r.status
    check(kept_post() == 200, "a kept-alive connection before the reload")
    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: results["ok"] >= 20, timeout=20, what="load before the reload")
        old = der_of(p("live.crt"))
        check(served_cert(o.http_port, ca) == old, "the first certificate is served")
        for n in ("crt", "key"):
            shutil.copy(p("server2." + n), p("live." + n + ".tmp"))
            os.replace(p("live." + n + ".tmp"), p("live." + n))
        with open(p("tokens.tmp"), "w") as f:
            f.write("%s team-a\n%s team-b\n" % (TOKEN, NEW_TOKEN))
        os.replace(p("tokens.tmp"), p("tokens"))
        new = der_of(p("live.crt"))
        o.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: served_cert(o.http_port, ca) == new, timeout=10,
                 what="the new certificate on the OTLP/HTTP port")
        n0 = results["ok"]
        wait_for(lambda: results["ok"] >= n0 + 20, timeout=20, what="load after the reload")
    finally:
        stop.set()
        for t in threads:
            t.join()
    check(not results["failed"], "requests failed during the reload: %r" % results["failed"][:5])
    sock = kept.sock
    check(kept_post() == 200 and kept.sock is sock and
          kept.sock.getpeercert(binary_form=True) == old,
          "the connection open across the reload goes on with its certificate")
    kept.close()
    check(served_cert(o.grpc_port, ca, ["h2"], "alice") == new,
          "the new certificate on the gRPC port")
    check(served_cert(o.jaeger_port, ca) == new, "the new certificate on the Jaeger port")
    code, _, _ = https(o.http_port, "/v1/traces", ca, "POST", body,
                       {"Content-Type": "application/json", "Authorization": "Bearer " + NEW_TOKEN})
    check(code == 200, "the new token after SIGHUP: %d" % code)
    check(grpc_status(o.grpc_port, ca, "Bearer " + NEW_TOKEN) != "UNAUTHENTICATED",
          "the new token on gRPC")
    # A broken file keeps what works.
    with open(p("tokens"), "w") as f:
        f.write("too many fields here\n")
    o.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "keeping the current credentials" in open(o.log_path).read(), timeout=10,
             what="the failed reload logged")
    code, _, _ = https(o.http_port, "/v1/traces", ca, "POST", body, dict(hdrs))
    check(code == 200, "the old tokens stay after a failed reload: %d" % code)
    print("reload: %d requests, none failed" % results["ok"])


def admin_rules(d):
    p = lambda n: os.path.join(d, n)  # noqa: E731
    # Off loopback without a credential: refused at start.
    r = subprocess.run([os.environ["OTTRD"], "--data-dir", p("data-x"), "--admin-addr",
                        "0.0.0.0:0", "--check-config"], capture_output=True, text=True)
    check(r.returncode == 2 and "admin.auth.type" in r.stderr, "admin off loopback: %r" % r.stderr)
    cfg = p("admin.yaml")
    with open(cfg, "w") as f:
        f.write("admin:\n  auth: {type: bearer, file: %s}\n" % p("tokens-admin"))
        f.write("query:\n  auth: {type: bearer, file: %s}\n" % p("tokens-admin"))
        f.write("grpc:\n  tls: {cert_file: %s, key_file: %s, client_ca_file: %s}\n"
                "  auth: {type: mtls, file: %s}\n"
                % (p("server.crt"), p("server.key"), p("ca.crt"), p("names")))
    with open(p("tokens-admin"), "w") as f:
        f.write("adm-1\n")
    o = Ottrd("--config", cfg)
    o.args += ["--admin-addr", "0.0.0.0:0", "--jaeger-addr", "0.0.0.0:0"]
    # The harness waits on the admin port's /ready, which now wants the token: wait here.
    o.get_orig = o.get
    o.get = lambda port, path, headers=None: o.get_orig(
        port, path, headers or {"Authorization": "Bearer adm-1"})
    with o:
        def post(headers):
            req = urllib.request.Request("http://127.0.0.1:%d/api/admin/checkpoint?name=b1"
                                         % o.admin_port, data=b"", method="POST", headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return resp.status
            except urllib.error.HTTPError as e:
                return e.code
        # /ready stays open on the Tempo port (probes); the rest needs the token.
        q = o.get_orig
        check(q(o.query_port, "/ready")[0] == 200, "/ready without a token")
        for path in ("/metrics", "/health", "/api/echo", "/api/search"):
            check(q(o.query_port, path)[0] == 401, "%s without a token" % path)
        check(q(o.query_port, "/api/echo", {"Authorization": "Bearer adm-1"})[0] == 200,
              "/api/echo with the token")
        check(post({}) == 401, "checkpoint without the admin token")
        # gRPC by certificate name: alice is listed, bob is signed by the CA but not listed.
        ca = p("ca.crt")
        check(grpc_status(o.grpc_port, ca, "", "alice") == "OK", "grpc mtls: alice")
        check(grpc_status(o.grpc_port, ca, "", "bob") == "UNAUTHENTICATED", "grpc mtls: bob")
        check(post({"Authorization": "Bearer wrong"}) == 401, "checkpoint with a wrong token")
        check(post({"Authorization": "Bearer adm-1"}) == 200, "checkpoint with the admin token")
        check(os.path.isdir(os.path.join(o.data_dir, "backups", "b1")), "written under backups")
        warned = [x for x in open(o.log_path).read().splitlines()
                  if "without authentication" in x]
        check(len(warned) == 1 and "jaeger listener 0.0.0.0:0" in warned[0],
              "one warning, for the Jaeger port open to the network: %r" % warned)


def main():
    node = check_prerequisites()
    d = tempfile.mkdtemp(prefix="ottr-sec-")
    try:
        make_pki(d)
        cfg = config(d)
        ca = os.path.join(d, "ca.crt")
        with Ottrd("--config", cfg) as o:
            t0 = time.monotonic()
            exporters(node, d, o, ca)
            print("exporters over TLS: %.1fs" % (time.monotonic() - t0))
            refusals(d, o, ca)
            cli(o, d, ca)
            reload_under_load(d, o, ca)
            log = open(o.log_path).read()
            for secret in (TOKEN, NEW_TOKEN, PASSWORD):
                check(secret not in log, "a secret in the log")
        admin_rules(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
