"""tests/integration/harness.py - start ottrd for Python integration tests.

Starts the real daemon on 127.0.0.1 port 0 for every listener with a temporary
data dir, reads its --port-file, waits for /ready with a deadline, and stops it
with SIGTERM checking a clean exit. Standard library only."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request


def wait_for(pred, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


class Ottrd:
    def __init__(self, *args, data_dir=None):
        self.tmp = tempfile.mkdtemp(prefix="ottr-test-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.args = list(args)
        self.proc = None
        self.log_path = os.path.join(self.tmp, "ottrd.log")

    def with_config(self, text):
        """Writes |text| as the daemon's config file and passes it with --config."""
        cfg = os.path.join(self.tmp, "ottr.yaml")
        with open(cfg, "w") as f:
            f.write(text)
        self.args += ["--config", cfg]
        return self

    def start(self):
        ports = os.path.join(self.tmp, "ports")
        if os.path.exists(ports):
            os.unlink(ports)
        cmd = [os.environ["OTTRD"], "--data-dir", self.data_dir,
               "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
               "--query-addr", "127.0.0.1:0", "--jaeger-addr", "127.0.0.1:0",
               "--admin-addr", "127.0.0.1:0", "--zipkin-addr", "127.0.0.1:0",
               "--port-file", ports] + self.args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stderr=self.log)
        wait_for(lambda: os.path.exists(ports) and os.path.getsize(ports) > 0,
                 what="port file")
        kv = dict(l.split("=", 1) for l in open(ports).read().split())
        self.grpc_port = int(kv["grpc"])
        self.http_port = int(kv["http"])
        self.query_port = int(kv["query"])
        self.jaeger_port = int(kv["jaeger"])
        self.admin_port = int(kv["admin"])
        self.zipkin_port = int(kv["zipkin"])
        # The admin port is plain HTTP on loopback in every test, whatever TLS
        # and authentication the others have.
        wait_for(lambda: self.get(self.admin_port, "/ready")[0] == 200, what="/ready")
        return self

    def get(self, port, path, headers=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        self.proc = None
        if rc != 0:
            self.dump_log()
            raise AssertionError("ottrd exited with %d after SIGTERM" % rc)

    def kill9(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def dump_log(self):
        try:
            sys.stderr.write(open(self.log_path).read()[-4000:])
        except OSError:
            pass

    def cleanup(self):
        if self.proc is not None:
            self.kill9()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        try:
            if et is not None:
                self.dump_log()
            self.stop()
        finally:
            self.cleanup()
