"""tests/integration/sdk/emit.py - sends one known trace through a real OpenTelemetry
Python SDK exporter (OTLP gRPC or HTTP protobuf) and writes what was sent, as
OTLP/JSON-style values, for the integration test to compare with what Ottr returns.
Exits 0 only when the exporter reported success for every span.

usage: emit.py --endpoint HOST:PORT --protocol grpc|http-proto --out FILE
               [--service NAME] [--compression none|gzip] [--processor batch|simple]
               [--scheme http|https]
batch sends the whole trace in one request; simple sends one request per span.
With https the exporter takes its CA and headers from the environment as any
application does (OTEL_EXPORTER_OTLP_CERTIFICATE, OTEL_EXPORTER_OTLP_HEADERS).
Runs with the interpreter of tests/integration/sdk/.venv (scripts/bootstrap --test)."""
import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (BatchSpanProcessor, SimpleSpanProcessor,
                                            SpanExporter, SpanExportResult)
from opentelemetry.trace import (Link, SpanContext, SpanKind, Status, StatusCode,
                                 TraceFlags)

# opentelemetry.trace.SpanKind INTERNAL=0 SERVER=1 CLIENT=2 PRODUCER=3 CONSUMER=4
OTLP_KIND = {SpanKind.INTERNAL: 1, SpanKind.SERVER: 2, SpanKind.CLIENT: 3,
             SpanKind.PRODUCER: 4, SpanKind.CONSUMER: 5}


class RecordingExporter(SpanExporter):
    """Wraps the real exporter, keeping the spans it was handed and its answers."""

    def __init__(self, inner):
        self.inner = inner
        self.spans = []
        self.results = []

    def export(self, spans):
        result = self.inner.export(spans)
        self.spans.extend(spans)
        self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


def make_exporter(args):
    if args.protocol == "grpc":
        import grpc
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        comp = grpc.Compression.NoCompression
        if args.compression == "gzip":
            comp = grpc.Compression.Gzip
        return OTLPSpanExporter(endpoint=args.scheme + "://" + args.endpoint,
                                insecure=args.scheme == "http", timeout=10, compression=comp)
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    comp = Compression.Gzip if args.compression == "gzip" else Compression.NoCompression
    return OTLPSpanExporter(endpoint="%s://%s/v1/traces" % (args.scheme, args.endpoint),
                            timeout=10, compression=comp)


def any_value(v):
    """The same mapping the OTLP proto encoder uses (bool before int)."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, bytes):
        return {"bytesValue": base64.b64encode(v).decode()}
    if isinstance(v, Sequence):
        return {"arrayValue": {"values": [any_value(x) for x in v]}}
    if isinstance(v, Mapping):
        return {"kvlistValue": {"values": key_values(v)}}
    raise TypeError("unexpected attribute value %r" % (v,))


def key_values(attrs):
    return [{"key": k, "value": any_value(v)} for k, v in (attrs or {}).items()]


def describe_span(s):
    ctx = s.get_span_context()
    return {
        "traceId": "%032x" % ctx.trace_id,
        "spanId": "%016x" % ctx.span_id,
        "parentSpanId": "%016x" % s.parent.span_id if s.parent else "",
        "name": s.name,
        "kind": OTLP_KIND[s.kind],
        "startTimeUnixNano": str(s.start_time),
        "endTimeUnixNano": str(s.end_time),
        "attributes": key_values(s.attributes),
        "events": [{"name": e.name, "timeUnixNano": str(e.timestamp),
                    "attributes": key_values(e.attributes)} for e in s.events],
        "links": [{"traceId": "%032x" % l.context.trace_id,
                   "spanId": "%016x" % l.context.span_id,
                   "attributes": key_values(l.attributes)} for l in s.links],
        "status": {"code": int(s.status.status_code.value),
                   "message": s.status.description or ""},
    }


def emit_trace(tracer, base_ns):
    def t(ms, ns):
        return base_ns + ms * 1000000 + ns

    linked = SpanContext(trace_id=int.from_bytes(os.urandom(16), "big") | 1,
                         span_id=int.from_bytes(os.urandom(8), "big") | 1,
                         is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    linked2 = SpanContext(trace_id=linked.trace_id,
                          span_id=int.from_bytes(os.urandom(8), "big") | 1,
                          is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    root = tracer.start_span("GET /checkout", kind=SpanKind.SERVER, start_time=t(0, 123457),
                             attributes={
                                 "http.request.method": "GET",
                                 "http.response.status_code": 200,
                                 "ottr.str": "h\u00e9llo w\u00f6rld \u2713 \"quoted\" \\ back",
                                 "ottr.str.empty": "",
                                 "ottr.bool": True,
                                 "ottr.bool.false": False,
                                 "ottr.int": 42,
                                 "ottr.int.neg": -7,
                                 "ottr.int.zero": 0,
                                 "ottr.int.max": 9223372036854775807,
                                 "ottr.int.min": -9223372036854775808,
                                 "ottr.double": 3.141592653589793,
                                 "ottr.double.neg": -0.125,
                                 "ottr.double.whole": 2.0,
                                 "ottr.double.tiny": 1.5e-300,
                                 "ottr.str.array": ["a", "b", "c d"],
                                 "ottr.int.array": [1, -2, 3000000000],
                                 "ottr.bool.array": [True, False, True],
                                 "ottr.double.array": [1.5, -2.25, 0.001],
                                 "ottr.bytes": b"\x00\xffbinary\x10",
                                 "ottr.kvlist": {"k": "v", "n": 1, "inner": {"ok": True}},
                             })
    root.add_event("request.received", timestamp=t(1, 7))
    root_ctx = trace.set_span_in_context(root)
    client = tracer.start_span("POST payments", context=root_ctx, kind=SpanKind.CLIENT,
                               start_time=t(10, 999999),
                               attributes={"server.address": "payments.internal",
                                           "server.port": 8443, "peer.service": "payments"})
    client.add_event("retry", attributes={"attempt": 2, "reason": "timeout",
                                          "backoff.seconds": 0.25, "final": False,
                                          "codes": [502, 503]}, timestamp=t(20, 1))
    client.set_status(Status(StatusCode.ERROR, "upstream timed out"))
    client_ctx = trace.set_span_in_context(client, root_ctx)
    inner = tracer.start_span("serialize payload", context=client_ctx, kind=SpanKind.INTERNAL,
                              start_time=t(11, 5),
                              links=[Link(linked, {"link.reason": "batch", "link.index": 1}),
                                     Link(linked2)],
                              attributes={"payload.bytes": 1024, "payload.compressed": True})
    inner.end(end_time=t(15, 3))
    client.end(end_time=t(80, 42))
    root.set_status(Status(StatusCode.OK))
    root.end(end_time=t(100, 1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--protocol", required=True, choices=["grpc", "http-proto"])
    p.add_argument("--out", required=True)
    p.add_argument("--service")
    p.add_argument("--compression", default="none", choices=["none", "gzip"])
    p.add_argument("--processor", default="batch", choices=["batch", "simple"])
    p.add_argument("--scheme", default="http", choices=["http", "https"])
    args = p.parse_args()
    service = args.service or "sdk-py-" + args.protocol

    recorder = RecordingExporter(make_exporter(args))
    resource = Resource.create({
        "service.name": service,
        "service.version": "1.2.3",
        "deployment.environment.name": "test",
        "host.cores": 2,
        "ottr.test.ratio": 0.5,
        "ottr.test.enabled": True,
        "ottr.test.tags": ["sdk", "py", args.protocol],
    })
    provider = TracerProvider(resource=resource)
    if args.processor == "simple":
        provider.add_span_processor(SimpleSpanProcessor(recorder))
    else:
        provider.add_span_processor(BatchSpanProcessor(recorder, schedule_delay_millis=60000))
    tracer = provider.get_tracer("ottr.sdk.emit", "0.9.1",
                                 attributes={"ottr.scope.attr": "scoped", "ottr.scope.n": 3})
    emit_trace(tracer, (time.time_ns() // 1000000000 - 5) * 1000000000)
    provider.force_flush()
    provider.shutdown()

    first = recorder.spans[0] if recorder.spans else None
    out = {
        "sdk": "py",
        "protocol": args.protocol,
        "compression": args.compression,
        "processor": args.processor,
        "endpoint": args.endpoint,
        "exportCalls": len(recorder.results),
        "resource": {"attributes": key_values(first.resource.attributes) if first else []},
        "scope": {"name": first.instrumentation_scope.name,
                  "version": first.instrumentation_scope.version or "",
                  "attributes": key_values(first.instrumentation_scope.attributes)}
        if first else None,
        "traceId": "%032x" % first.get_span_context().trace_id if first else "",
        "spans": [describe_span(s) for s in recorder.spans],
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    failed = [r for r in recorder.results if r != SpanExportResult.SUCCESS]
    if len(recorder.spans) != 3 or failed or not recorder.results:
        sys.stderr.write("emit.py: export via %s to %s failed: %d spans handed over, %d of %d "
                         "export calls failed\n" % (args.protocol, args.endpoint,
                                                   len(recorder.spans), len(failed),
                                                   len(recorder.results)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
