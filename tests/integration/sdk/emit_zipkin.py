"""tests/integration/sdk/emit_zipkin.py - sends one known trace to a Zipkin endpoint
with a real Python client, and writes what the client sent (Zipkin JSON spans, v2
or v1) to --out for the test to compare with what ottrd answers.

  --client otel-json   the OpenTelemetry Zipkin JSON exporter
  --client otel-proto  the OpenTelemetry Zipkin protobuf exporter
  --client py-zipkin   py_zipkin, a Zipkin-native client (64-bit trace IDs)
  --client py-zipkin-v1  the same in Zipkin's v1 JSON (POST /api/v1/spans)

Runs in tests/integration/sdk/.venv-zipkin (scripts/bootstrap --test)."""
import argparse
import json
import sys
import time


def otel(args):
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.exporter.zipkin.encoder import Protocol
    from opentelemetry.exporter.zipkin.json.v2 import JsonV2Encoder
    if args.client == "otel-json":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter
    else:
        from opentelemetry.exporter.zipkin.proto.http import ZipkinExporter

    sent = []

    class Recording(ZipkinExporter):
        """Records the spans as the JSON v2 encoder writes them, then exports."""

        def export(self, spans):
            # After the export, which names the local node after the resource.
            result = super().export(spans)
            enc = JsonV2Encoder(self.encoder.max_tag_value_length)
            sent.extend(json.loads(enc.serialize(spans, self.local_node)))
            return result

    url = "http://%s/api/v2/spans" % args.endpoint
    exporter = Recording(endpoint=url) if args.client == "otel-proto" else \
        Recording(version=Protocol.V2, endpoint=url)
    provider = TracerProvider(resource=Resource.create(
        {"service.name": args.service, "deployment.environment": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("zipkin-test", "1.2.3")
    with tracer.start_as_current_span("GET /checkout", kind=trace.SpanKind.SERVER) as root:
        root.set_attribute("http.method", "GET")
        root.set_attribute("http.status_code", 200)
        root.add_event("cache miss")
        with tracer.start_as_current_span("SELECT orders", kind=trace.SpanKind.CLIENT) as db:
            db.set_attribute("peer.service", "orders-db")
            db.set_attribute("db.system", "postgresql")
            db.set_status(trace.Status(trace.StatusCode.ERROR, "connection reset"))
            time.sleep(0.002)
        with tracer.start_as_current_span("render"):
            pass
    provider.shutdown()
    return sent


def pyzipkin(args):
    from py_zipkin.encoding import Encoding
    from py_zipkin.transport import SimpleHTTPTransport
    from py_zipkin.zipkin import zipkin_client_span, zipkin_span

    sent = []
    host, port = args.endpoint.rsplit(":", 1)

    class Recording(SimpleHTTPTransport):
        def send(self, payload):
            sent.extend(json.loads(payload))
            super().send(payload)

    transport = Recording(host, int(port))
    # SimpleHTTPTransport posts v1 to /api/v1/spans, v2 to /api/v2/spans.
    encoding = Encoding.V1_JSON if args.client == "py-zipkin-v1" else Encoding.V2_JSON
    with zipkin_span(service_name=args.service, span_name="handle", sample_rate=100,
                     transport_handler=transport, encoding=encoding,
                     binary_annotations={"user": "alice"}):
        with zipkin_span(service_name=args.service, span_name="fetch",
                         annotations={"retry": time.time()},
                         binary_annotations={"error": "timeout"}):
            time.sleep(0.002)
        with zipkin_client_span(service_name=args.service, span_name="call"):
            time.sleep(0.001)
    return sent


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--client", required=True,
                   choices=["otel-json", "otel-proto", "py-zipkin", "py-zipkin-v1"])
    p.add_argument("--service", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    sent = pyzipkin(args) if args.client.startswith("py-zipkin") else otel(args)
    if not sent:
        sys.exit("emit_zipkin.py: nothing was sent")
    with open(args.out, "w") as f:
        json.dump(sent, f)


if __name__ == "__main__":
    main()
