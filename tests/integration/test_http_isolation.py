"""tests/integration/test_http_isolation.py - one client must not lock the others
out of the OTLP/HTTP port. Starts ottrd with a small connection cap and short
deadlines, then attacks it from three loopback addresses the way a slow-loris
client does: more connections than the cap, each sending a request's headers or
body a byte at a time, each byte in time for the idle limit. While the attack
runs, a well-behaved client's POST /v1/traces must get 200 quickly, again and
again; the slow connections must be cut (408 or a close); connections past an
address's cap must get 503; the counters on /metrics must say so. Last, an idle
gRPC connection must be closed after grpc.max_connection_idle.

For a measurement the sizes can be raised through the environment (see the
OTTR_ISOLATION_ variables below); with OTTR_ISOLATION_MEASURE=1 the slow
connections are held (no body rate, a 30 s deadline) and only the good client's
latencies are printed."""
import json
import os
import re
import selectors
import socket
import statistics
import sys
import tempfile
import threading
import time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

ENV = os.environ.get
MEASURE = ENV("OTTR_ISOLATION_MEASURE") == "1"
MAX_CONNS = int(ENV("OTTR_ISOLATION_MAX_CONNS", "64"))
PER_IP = int(ENV("OTTR_ISOLATION_PER_IP", "32"))
# Two addresses at their cap fill the server's cap; each tries more than its cap.
ATTACKERS = ["127.0.0.%d" % (2 + i) for i in range(int(ENV("OTTR_ISOLATION_ADDRS", "2")))]
CONNS_PER_ADDR = int(ENV("OTTR_ISOLATION_CONNS", "40"))
ROUNDS = int(ENV("OTTR_ISOLATION_ROUNDS", "20"))
TRICKLE_S = float(ENV("OTTR_ISOLATION_TRICKLE", "0.3"))  # well inside http.idle_timeout
GOOD_BOUND_S = 2.0

CONFIG = """
http:
  max_conns: %d
  max_conns_per_ip: %d
  request_timeout: %s
  idle_timeout: 10s
  min_body_rate: %d
  body_rate_window: 1s
grpc:
  max_connection_idle: 1s
""" % (MAX_CONNS, PER_IP, "30s" if MEASURE else "2s", 0 if MEASURE else 200)

SLOW_HEADERS = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Slow: "
SLOW_BODY = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: 100000\r\n\r\n{")


def good_body():
    now = time.time_ns()
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "good"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "%032x" % (now & ((1 << 128) - 1) or 1),
            "spanId": "00f067aa0ba902b7", "name": "ok", "kind": 2,
            "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000000)}]}]}]
    }).encode()


class Attack:
    """Keeps CONNS_PER_ADDR slow connections open from each attacking address,
    reopening those the server cuts, and tallies what the server answered."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers = {}  # first status line word -> count
        self.cut = 0       # connections the server closed
        self.peak = 0      # slow connections open at once (as the client sees it)
        self.socks = {}    # socket -> [source, kind, bytes in]
        self.sel = selectors.DefaultSelector()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open_one(self, src, kind):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s.bind((src, 0))
            s.connect(("127.0.0.1", self.port))
            s.sendall(SLOW_HEADERS if kind == 0 else SLOW_BODY)
        except OSError:
            s.close()
            return
        s.setblocking(False)
        self.socks[s] = [src, kind, b""]
        self.sel.register(s, selectors.EVENT_READ)

    def drop(self, s):
        self.count(self.socks.pop(s)[2])
        self.sel.unregister(s)
        s.close()

    def count(self, data):
        m = re.match(rb"HTTP/1\.1 (\d+)", data)
        key = m.group(1).decode() if m else "close"
        with self.lock:
            self.answers[key] = self.answers.get(key, 0) + 1
            self.cut += 1

    def refill(self):
        have = {}
        for src, kind, _ in self.socks.values():
            have[src] = have.get(src, 0) + 1
        for src in ATTACKERS:
            for i in range(CONNS_PER_ADDR - have.get(src, 0)):
                self.open_one(src, i % 2)
        self.peak = max(self.peak, len(self.socks))

    def run(self):
        while not self.stop.is_set():
            self.refill()
            deadline = time.monotonic() + TRICKLE_S
            while time.monotonic() < deadline and not self.stop.is_set():
                for key, _ in self.sel.select(0.05):
                    s = key.fileobj
                    try:
                        d = s.recv(4096)
                    except OSError:
                        d = b""
                    st = self.socks[s]
                    st[2] += d
                    if not d or b"\r\n\r\n" in st[2]:
                        self.drop(s)
            for s in list(self.socks):
                try:
                    s.send(b"x")
                except OSError:
                    self.drop(s)
        for s in self.socks:
            s.close()
        self.sel.close()


def metric(text, name, labels):
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0.0


def counters(d):
    """The OTLP/HTTP port's requests timed out, slow bodies, evictions and refusals
    per address, from /metrics."""
    status, body = d.get(d.query_port, "/metrics")
    assert status == 200, status
    text = body.decode()
    lab = 'server="otlp_http"'
    return (metric(text, "ottr_http_requests_timed_out_total", lab),
            metric(text, "ottr_http_slow_bodies_total", lab),
            metric(text, "ottr_http_connections_evicted_total", lab),
            metric(text, "ottr_http_connections_refused_total", lab + ',reason="per_ip"'))


def request(port, method, path, body=None, headers=None):
    """A request on a new connection: (status, seconds taken). A connection closed
    before the answer is retried once, as exporters do: at the cap a fresh
    connection still sending its request can be the one evicted when the machine is
    slow; the time counts from the first attempt."""
    t0 = time.monotonic()
    for attempt in (1, 2):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            r.read()
            return r.status, time.monotonic() - t0
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if attempt == 2:
                raise
        finally:
            c.close()


def per_ip_refusal(port):
    """A connection from an address at its cap: 503 with Retry-After, then close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    held = [s]
    try:
        # The attack holds the other addresses; fill 127.0.0.1's own cap here.
        for _ in range(PER_IP - 1):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))

        def refused():
            x = socket.create_connection(("127.0.0.1", port), timeout=5)
            x.settimeout(5)
            data = b""
            try:
                while True:
                    d = x.recv(4096)
                    if not d:
                        break
                    data += d
            except OSError:
                pass
            x.close()
            return data if data.startswith(b"HTTP/1.1 503 ") else None
        data = wait_for(refused, timeout=10, what="a 503 past the address's cap")
        assert b"Retry-After: 1\r\n" in data, data
    finally:
        for h in held:
            h.close()


def grpc_idle_closed(port):
    """An HTTP/2 connection to the gRPC port that opens no call is closed after
    grpc.max_connection_idle (1 s here)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    t0 = time.monotonic()
    data = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except socket.timeout:
        raise AssertionError("idle gRPC connection still open after 10 s")
    except ConnectionResetError:
        pass
    finally:
        s.close()
    took = time.monotonic() - t0
    # A GOAWAY frame (type 7) came before the close.
    off, types = 0, set()
    while off + 9 <= len(data):
        n = int.from_bytes(data[off:off + 3], "big")
        types.add(data[off + 3])
        off += 9 + n
    assert 7 in types, "no GOAWAY from the gRPC port: %r" % data[:64]
    return took


def main():
    fd, path = tempfile.mkstemp(prefix="ottr-isolation-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(CONFIG)
    try:
        run(path)
    finally:
        os.unlink(path)


def run(config_path):
    with Ottrd("--config", config_path) as d:
        attack = Attack(d.http_port)
        attack.thread.start()
        try:
            # The attack holds the cap before the good client comes.
            wait_for(lambda: attack.peak >= min(MAX_CONNS, len(ATTACKERS) * PER_IP),
                     timeout=120 if MEASURE else 20, what="the attack to fill the cap")
            posts, readies = [], []
            for _ in range(ROUNDS):
                status, took = request(d.http_port, "POST", "/v1/traces", good_body(),
                                       {"Content-Type": "application/json"})
                assert status == 200, status
                assert took < GOOD_BOUND_S, "POST /v1/traces took %.2f s" % took
                posts.append(took)
                status, took = request(d.query_port, "GET", "/ready")
                assert status == 200, status
                readies.append(took)
                if MEASURE:  # spread the requests over a trickle period
                    time.sleep(TRICKLE_S * 2 / ROUNDS)
            if MEASURE:
                status, body = d.get(d.query_port, "/metrics")
                m = re.search(r'^ottr_http_connections_open\{server="otlp_http"\} (\S+)$',
                              body.decode(), re.M)
                print("%d slow connections opened, %s open at the server, %d cut or refused: "
                      "POST /v1/traces median %.1f ms max %.1f ms; GET /ready median %.1f ms "
                      "max %.1f ms (%d requests each); counters %s" % (
                          attack.peak, m.group(1) if m else "?", attack.cut,
                          statistics.median(posts) * 1000, max(posts) * 1000,
                          statistics.median(readies) * 1000, max(readies) * 1000, ROUNDS,
                          counters(d)))
                return
            per_ip_refusal(d.http_port)
            # Slow connections of both kinds are cut: a slow body after a body-rate
            # window, a trickled header section at the request deadline.
            wait_for(lambda: counters(d)[0] >= 1 and counters(d)[1] >= 1, timeout=20,
                     what="a request deadline and a body rate to cut slow connections")
        finally:
            attack.stop.set()
            attack.thread.join(10)
        timed, slow, evicted, refused = counters(d)
        print("slow connections held at peak %d; cut %d (%s); POST /v1/traces median %.1f ms "
              "max %.1f ms; GET /ready median %.1f ms max %.1f ms; counters: timed out %d, "
              "slow bodies %d, evicted %d, refused per address %d" % (
                  attack.peak, attack.cut, attack.answers,
                  statistics.median(posts) * 1000, max(posts) * 1000,
                  statistics.median(readies) * 1000, max(readies) * 1000,
                  timed, slow, evicted, refused))
        assert timed >= 1, "no request timed out"
        assert slow >= 1, "no slow body cut"
        assert evicted >= 1, "nothing evicted at the cap"
        assert refused >= 1, "no per-address refusal"
        assert attack.answers.get("503", 0) >= 1, attack.answers

        took = grpc_idle_closed(d.grpc_port)
        assert took < 5, "idle gRPC connection closed after %.1f s" % took
        print("idle gRPC connection closed after %.1f s" % took)
    print("ok")


if __name__ == "__main__":
    main()
