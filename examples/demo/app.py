"""examples/demo/app.py - a small shop instrumented with the OpenTelemetry Python SDK,
exporting its traces over OTLP to Ottr.

Five services, each a real HTTP server (or queue consumer) on 127.0.0.1 with its own
TracerProvider and service.name, in one process:

  frontend  GET /, POST /checkout      calls cart and checkout over HTTP
  cart      GET /cart                  reads the shop database (SQLite)
  checkout  POST /checkout             writes an order, calls payment, publishes a message
  payment   POST /charge               calls the card network (not instrumented: peer.service)
  email     consumes order messages    (a producer/consumer hop through a queue)

W3C trace context travels in HTTP headers and in the message headers, as the SDKs'
instrumentations carry it. Latency varies (a few slow cart reads and card-network calls),
and every eighth checkout is declined by payment, so that error traces exist.

usage: app.py --endpoint HOST:PORT [--protocol http|grpc] [--seconds N] [--rate R]
Needs opentelemetry-sdk and an OTLP exporter (tests/integration/sdk/requirements.txt)."""
import argparse
import itertools
import json
import queue
import random
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

PROPAGATOR = TraceContextTextMapPropagator()
SERVICES = ("frontend", "cart", "checkout", "payment", "email")


def make_tracers(args):
    """One TracerProvider per service, as if each ran in its own process."""
    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        def exporter():
            return OTLPSpanExporter(endpoint="http://" + args.endpoint, insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        def exporter():
            return OTLPSpanExporter(endpoint="http://%s/v1/traces" % args.endpoint)
    providers, tracers = [], {}
    for i, name in enumerate(SERVICES):
        res = Resource.create({"service.name": name, "service.namespace": "shop",
                               "service.version": "1.4.%d" % i,
                               "deployment.environment.name": "demo"})
        p = TracerProvider(resource=res)
        p.add_span_processor(BatchSpanProcessor(exporter(), schedule_delay_millis=500))
        providers.append(p)
        tracers[name] = p.get_tracer("ottr.demo", "1.0")
    return providers, tracers


def pause(lo_ms, hi_ms, slow_share=0.0, slow_ms=0):
    """Sleeps a log-uniform time between lo and hi ms, or slow_ms for slow_share of calls."""
    if slow_share and random.random() < slow_share:
        ms = slow_ms * random.uniform(1.0, 1.5)
    else:
        ms = lo_ms * (hi_ms / lo_ms) ** random.random()
    time.sleep(ms / 1000.0)


class Shop:
    def __init__(self, tracers):
        self.t = tracers
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db_lock = threading.Lock()
        with self.db_lock:
            self.db.executescript(
                "CREATE TABLE items(user TEXT, sku TEXT, qty INTEGER);"
                "CREATE TABLE orders(id INTEGER PRIMARY KEY, user TEXT, total REAL);"
                "INSERT INTO items VALUES ('u1','SKU-1',2),('u1','SKU-7',1),('u2','SKU-3',4);")
        self.messages = queue.Queue()
        self.checkouts = itertools.count()
        self.ports = {}
        self.servers = []

    # -- plumbing ------------------------------------------------------------------
    def serve(self, name, routes):
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path, _, qs = self.path.partition("?")
                route = routes.get((method, path))
                if route is None:
                    self.reply(404, {"error": "no route"})
                    return
                ctx = PROPAGATOR.extract({k.lower(): v for k, v in self.headers.items()})
                tracer = shop.t[name]
                with tracer.start_as_current_span(
                        "%s %s" % (method, path), context=ctx, kind=SpanKind.SERVER,
                        attributes={"http.request.method": method, "url.path": path,
                                    "http.route": path, "url.scheme": "http",
                                    "server.address": "127.0.0.1",
                                    "server.port": shop.ports[name],
                                    "network.protocol.version": "1.1"}) as span:
                    args = json.loads(body) if body else {}
                    args.update(urllib.parse.parse_qsl(qs))
                    code, answer = route(span, args)
                    span.set_attribute("http.response.status_code", code)
                    if code >= 500 or code == 402:
                        span.set_status(Status(StatusCode.ERROR, answer.get("error", "")))
                self.reply(code, answer)

            def do_GET(self):
                self.handle_one("GET")

            def do_POST(self):
                self.handle_one("POST")

            def reply(self, code, answer):
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        self.ports[name] = srv.server_address[1]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.servers.append(srv)

    def call(self, caller, service, method, path, payload=None):
        """An HTTP client span of |caller| to |service|, with trace context in the headers."""
        port = self.ports[service]
        url = "http://127.0.0.1:%d%s" % (port, path)
        with self.t[caller].start_as_current_span(
                "%s %s" % (method, path.partition("?")[0]), kind=SpanKind.CLIENT,
                attributes={"http.request.method": method, "url.full": url,
                            "server.address": "127.0.0.1", "server.port": port}) as span:
            headers = {"Content-Type": "application/json"}
            PROPAGATOR.inject(headers)
            data = json.dumps(payload).encode() if payload is not None else None
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    code, answer = r.status, json.loads(r.read() or b"{}")
            except urllib.error.HTTPError as e:
                code, answer = e.code, json.loads(e.read() or b"{}")
            span.set_attribute("http.response.status_code", code)
            if code >= 400:
                span.set_attribute("error.type", str(code))
                span.set_status(Status(StatusCode.ERROR))
            return code, answer

    def query(self, caller, operation, table, sql, params=()):
        """A database client span: db.system and db.name make the service graph draw the
        database as a node of its own."""
        with self.t[caller].start_as_current_span(
                "%s shop.%s" % (operation, table), kind=SpanKind.CLIENT,
                attributes={"db.system": "sqlite", "db.name": "shop",
                            "db.operation": operation, "db.sql.table": table,
                            "db.statement": sql}):
            with self.db_lock:
                rows = self.db.execute(sql, params).fetchall()
                self.db.commit()
            return rows

    # -- the services ----------------------------------------------------------------
    def frontend_home(self, span, body):
        user = random.choice(("u1", "u2", "u3"))
        span.set_attribute("enduser.id", user)
        code, cart = self.call("frontend", "cart", "GET", "/cart?user=" + user)
        pause(1, 5)
        return (200, {"items": cart.get("items", [])}) if code == 200 else (500, cart)

    def frontend_checkout(self, span, body):
        user = random.choice(("u1", "u2", "u3"))
        span.set_attribute("enduser.id", user)
        code, cart = self.call("frontend", "cart", "GET", "/cart?user=" + user)
        if code != 200:
            return 500, {"error": "cart unavailable"}
        code, answer = self.call("frontend", "checkout", "POST", "/checkout",
                                 {"user": user, "items": cart.get("items", [])})
        if code != 200:
            return 500, {"error": "checkout failed: " + answer.get("error", str(code))}
        return 200, answer

    def cart_get(self, span, body):
        pause(2, 15, slow_share=0.03, slow_ms=400)
        rows = self.query("cart", "SELECT", "items",
                          "SELECT sku, qty FROM items WHERE user = ?", (body.get("user"),))
        return 200, {"items": [{"sku": s, "qty": q} for s, q in rows]}

    def checkout_post(self, span, body):
        n = next(self.checkouts)
        total = round(sum(i["qty"] for i in body.get("items", [])) * 19.99, 2)
        span.set_attribute("shop.order.total", total)
        rows = self.query("checkout", "INSERT", "orders",
                          "INSERT INTO orders(user, total) VALUES (?, ?) RETURNING id",
                          (body.get("user", "?"), total))
        order = rows[0][0]
        span.set_attribute("shop.order.id", order)
        code, answer = self.call("checkout", "payment", "POST", "/charge",
                                 {"order": order, "amount": total, "decline": n % 8 == 1})
        if code != 200:
            return 402, {"error": answer.get("error", "payment failed")}
        self.publish(order, body.get("user", "?"))
        return 200, {"order": order, "total": total}

    def payment_charge(self, span, body):
        span.set_attribute("shop.payment.amount", body.get("amount", 0))
        # The card network is not instrumented: a client span naming it with
        # peer.service makes it a node of the service graph.
        with self.t["payment"].start_as_current_span(
                "POST /authorize", kind=SpanKind.CLIENT,
                attributes={"peer.service": "card-network", "http.request.method": "POST",
                            "server.address": "cards.example.net", "server.port": 443}) as c:
            pause(10, 60, slow_share=0.02, slow_ms=700)
            if body.get("decline"):
                c.set_attribute("http.response.status_code", 402)
                c.set_status(Status(StatusCode.ERROR, "card declined"))
            else:
                c.set_attribute("http.response.status_code", 200)
        if body.get("decline"):
            err = RuntimeError("card declined")
            span.record_exception(err, attributes={"exception.type": "CardDeclined"})
            return 402, {"error": "card declined"}
        return 200, {"authorized": True}

    def publish(self, order, user):
        with self.t["checkout"].start_as_current_span(
                "publish order-confirmations", kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "inprocess",
                            "messaging.destination.name": "order-confirmations",
                            "messaging.operation.type": "send",
                            "messaging.message.id": str(order)}):
            headers = {}
            PROPAGATOR.inject(headers)
            self.messages.put({"headers": headers, "order": order, "user": user})

    def email_consumer(self):
        while True:
            msg = self.messages.get()
            if msg is None:
                return
            ctx = PROPAGATOR.extract(msg["headers"])
            with self.t["email"].start_as_current_span(
                    "process order-confirmations", context=ctx, kind=SpanKind.CONSUMER,
                    attributes={"messaging.system": "inprocess",
                                "messaging.destination.name": "order-confirmations",
                                "messaging.operation.type": "process",
                                "messaging.message.id": str(msg["order"])}):
                with self.t["email"].start_as_current_span("render receipt"):
                    pause(1, 8)
                pause(5, 30)
            self.messages.task_done()

    def start(self):
        self.serve("frontend", {("GET", "/"): self.frontend_home,
                                ("POST", "/checkout"): self.frontend_checkout})
        self.serve("cart", {("GET", "/cart"): self.cart_get})
        self.serve("checkout", {("POST", "/checkout"): self.checkout_post})
        self.serve("payment", {("POST", "/charge"): self.payment_charge})
        threading.Thread(target=self.email_consumer, daemon=True).start()

    def stop(self):
        self.messages.put(None)
        for s in self.servers:
            s.shutdown()


def user_request(port):
    """What a browser does: one page view, or a checkout (a third of the time)."""
    if random.random() < 1 / 3:
        req = urllib.request.Request("http://127.0.0.1:%d/checkout" % port, data=b"{}",
                                     method="POST")
    else:
        req = urllib.request.Request("http://127.0.0.1:%d/" % port)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            return True
    except urllib.error.HTTPError as e:
        e.read()
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, help="Ottr's OTLP HOST:PORT")
    ap.add_argument("--protocol", choices=("http", "grpc"), default="http")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=float, default=10, help="user requests per second")
    args = ap.parse_args()

    providers, tracers = make_tracers(args)
    shop = Shop(tracers)
    shop.start()
    ok = failed = 0
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < args.seconds:
        n += 1
        if user_request(shop.ports["frontend"]):
            ok += 1
        else:
            failed += 1
        # Requests at the given rate, on average.
        delay = start + n / args.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    shop.messages.join()
    shop.stop()
    exported = all(p.force_flush(10000) for p in providers)
    for p in providers:
        p.shutdown()
    print("demo: %d requests in %.0f s, %d failed (declined cards); spans %s" %
          (ok + failed, time.monotonic() - start, failed,
           "exported" if exported else "NOT all exported"))
    return 0 if exported else 1


if __name__ == "__main__":
    sys.exit(main())
