"""tests/integration/sdk/emit_traceql.py - sends two traces through the real
OpenTelemetry Python SDK (OTLP HTTP protobuf) for the TraceQL search test, and
prints their trace IDs as JSON ({"shop": "<hex>", "health": "<hex>"}).

shop, service frontend (tracer "http" 1.2) calling cart (tracer "grpc" 1.0):
  GET /api/products/{id} (server, ok, an array attribute) -> call cart (client, cache.hit)
    -> GET /cart (server, error) -> SELECT (client, db.system, error, an
       exception event) and cache get (internal, a link to health's root)
  GET /api/products/{id} -> call auth (client, DELETE, error)
health, service frontend: GET /health (server) alone.

usage: emit_traceql.py --endpoint HOST:PORT
Runs with the interpreter of tests/integration/sdk/.venv (scripts/bootstrap --test)."""
import argparse
import json
import sys

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, set_span_in_context


def provider(endpoint, service, env):
    p = TracerProvider(resource=Resource.create({"service.name": service,
                                                 "deployment.environment": env}))
    p.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint="http://%s/v1/traces" % endpoint, timeout=10)))
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    args = ap.parse_args()
    fe = provider(args.endpoint, "frontend", "production")
    cart = provider(args.endpoint, "cart", "staging")
    http = fe.get_tracer("http", "1.2")
    grpc = cart.get_tracer("grpc", "1.0")

    with http.start_as_current_span("GET /health", kind=SpanKind.SERVER) as h:
        health_ctx = h.get_span_context()

    root = http.start_span("GET /api/products/{id}", kind=SpanKind.SERVER,
                           attributes={"http.status_code": 200, "http.method": "GET",
                                       "http.request.header.accept": ["application/json",
                                                                      "text/html"]})
    ctx = set_span_in_context(root)
    call = http.start_span("call cart", context=ctx, kind=SpanKind.CLIENT,
                           attributes={"http.status_code": 200, "cache.hit": True})
    srv = grpc.start_span("GET /cart", context=set_span_in_context(call), kind=SpanKind.SERVER,
                          attributes={"http.status_code": 500})
    sctx = set_span_in_context(srv)
    db = grpc.start_span("SELECT", context=sctx, kind=SpanKind.CLIENT,
                         attributes={"db.system": "postgresql"})
    db.add_event("exception", {"exception.message": "something went wrong here"})
    db.set_status(Status(StatusCode.ERROR))
    db.end()
    cache = grpc.start_span("cache get", context=sctx, kind=SpanKind.INTERNAL,
                            links=[Link(health_ctx, {"opentracing.ref_type": "follows_from"})])
    cache.end()
    srv.set_status(Status(StatusCode.ERROR, "upstream"))
    srv.end()
    call.end()
    auth = http.start_span("call auth", context=ctx, kind=SpanKind.CLIENT,
                           attributes={"http.method": "DELETE", "http.status_code": 500})
    auth.set_status(Status(StatusCode.ERROR, "denied"))
    auth.end()
    root.set_status(Status(StatusCode.OK))
    root.end()
    fe.shutdown()
    cart.shutdown()
    json.dump({"shop": "%032x" % root.get_span_context().trace_id,
               "health": "%032x" % health_ctx.trace_id}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
