// tests/integration/sdk/emit.js - sends one known trace through a real OpenTelemetry
// JavaScript SDK exporter (OTLP gRPC, HTTP protobuf or HTTP JSON) and writes what was
// sent, as OTLP/JSON-style values, for the integration test to compare with what Ottr
// returns. Exits 0 only when the exporter reported success for every span.
//
// usage: node emit.js --endpoint HOST:PORT --protocol grpc|http-proto|http-json
//                     --out FILE [--service NAME] [--compression none|gzip]
//                     [--processor batch|simple] [--scheme http|https]
// batch sends the whole trace in one request; simple sends one request per span.
// With https the exporter takes its CA and headers from the environment as any
// application does (OTEL_EXPORTER_OTLP_CERTIFICATE or NODE_EXTRA_CA_CERTS,
// OTEL_EXPORTER_OTLP_HEADERS).
'use strict';

const fs = require('fs');
const crypto = require('crypto');
const api = require('@opentelemetry/api');
const {
  BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor,
} = require('@opentelemetry/sdk-trace-base');
const { defaultResource, resourceFromAttributes } = require('@opentelemetry/resources');
const { ExportResultCode } = require('@opentelemetry/core');

function usage(msg) {
  process.stderr.write(`emit.js: ${msg}\nusage: node emit.js --endpoint HOST:PORT ` +
    '--protocol grpc|http-proto|http-json --out FILE [--service NAME] ' +
    '[--compression none|gzip] [--processor batch|simple]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { compression: 'none', processor: 'batch', scheme: 'http' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (v === undefined) usage(`missing value for ${k}`);
    if (k === '--endpoint') o.endpoint = v;
    else if (k === '--protocol') o.protocol = v;
    else if (k === '--out') o.out = v;
    else if (k === '--service') o.service = v;
    else if (k === '--compression') o.compression = v;
    else if (k === '--processor') o.processor = v;
    else if (k === '--scheme') o.scheme = v;
    else usage(`unknown option ${k}`);
  }
  if (!o.endpoint || !o.protocol || !o.out) usage('--endpoint, --protocol and --out are required');
  if (!['grpc', 'http-proto', 'http-json'].includes(o.protocol)) {
    usage(`bad protocol ${o.protocol}`);
  }
  if (!['none', 'gzip'].includes(o.compression)) usage(`bad compression ${o.compression}`);
  if (!['batch', 'simple'].includes(o.processor)) usage(`bad processor ${o.processor}`);
  if (!['http', 'https'].includes(o.scheme)) usage(`bad scheme ${o.scheme}`);
  o.service = o.service || `sdk-js-${o.protocol}`;
  return o;
}

function makeExporter(o) {
  const common = { timeoutMillis: 10000, compression: o.compression };
  if (o.protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
    return new OTLPTraceExporter({ ...common, url: `${o.scheme}://${o.endpoint}` });
  }
  const url = `${o.scheme}://${o.endpoint}/v1/traces`;
  if (o.protocol === 'http-proto') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
    return new OTLPTraceExporter({ ...common, url });
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
  return new OTLPTraceExporter({ ...common, url });
}

// Wraps the real exporter, keeping the spans it was handed and what it answered.
class RecordingExporter {
  constructor(inner) {
    this.inner = inner;
    this.spans = [];
    this.results = [];
  }

  export(spans, done) {
    this.inner.export(spans, (result) => {
      this.spans.push(...spans);
      this.results.push(result);
      done(result);
    });
  }

  shutdown() {
    return this.inner.shutdown();
  }

  forceFlush() {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}

// The same mapping the OTLP transformer uses: integral numbers are intValue.
function anyValue(v) {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  }
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  throw new Error(`unexpected attribute value ${JSON.stringify(v)}`);
}

function keyValues(attrs) {
  return Object.keys(attrs || {}).map((k) => ({ key: k, value: anyValue(attrs[k]) }));
}

function nanos(hr) {
  return (BigInt(hr[0]) * 1000000000n + BigInt(hr[1])).toString();
}

function describeSpan(s) {
  const ctx = s.spanContext();
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: s.parentSpanContext ? s.parentSpanContext.spanId : '',
    name: s.name,
    kind: s.kind + 1, // api.SpanKind INTERNAL=0 .. CONSUMER=4; OTLP INTERNAL=1 .. CONSUMER=5
    startTimeUnixNano: nanos(s.startTime),
    endTimeUnixNano: nanos(s.endTime),
    attributes: keyValues(s.attributes),
    events: s.events.map((e) => ({
      name: e.name,
      timeUnixNano: nanos(e.time),
      attributes: keyValues(e.attributes),
    })),
    links: s.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: keyValues(l.attributes),
    })),
    status: { code: s.status.code, message: s.status.message || '' },
  };
}

function emitTrace(tracer, base) {
  // Explicit times as [seconds, nanoseconds] so every nanosecond digit is known.
  const t = (ms, ns) => [base + Math.floor(ms / 1000), (ms % 1000) * 1000000 + ns];
  const linked = {
    traceId: crypto.randomBytes(16).toString('hex'),
    spanId: crypto.randomBytes(8).toString('hex'),
    traceFlags: api.TraceFlags.SAMPLED,
    isRemote: true,
  };
  const root = tracer.startSpan('GET /checkout', {
    kind: api.SpanKind.SERVER,
    startTime: t(0, 123457),
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'ottr.str': 'h\u00e9llo w\u00f6rld \u2713 "quoted" \\ back',
      'ottr.str.empty': '',
      'ottr.bool': true,
      'ottr.bool.false': false,
      'ottr.int': 42,
      'ottr.int.neg': -7,
      'ottr.int.zero': 0,
      'ottr.int.big': Number.MAX_SAFE_INTEGER,
      'ottr.double': 3.141592653589793,
      'ottr.double.neg': -0.125,
      'ottr.double.tiny': 1.5e-300,
      'ottr.str.array': ['a', 'b', 'c d'],
      'ottr.int.array': [1, -2, 3000000000],
      'ottr.bool.array': [true, false, true],
      'ottr.double.array': [1.5, -2.25, 0.001],
    },
  });
  root.addEvent('request.received', t(1, 7));
  const rootCtx = api.trace.setSpan(api.context.active(), root);
  const client = tracer.startSpan('POST payments', {
    kind: api.SpanKind.CLIENT,
    startTime: t(10, 999999),
    attributes: {
      'server.address': 'payments.internal',
      'server.port': 8443,
      'peer.service': 'payments',
    },
  }, rootCtx);
  client.addEvent('retry', {
    attempt: 2,
    reason: 'timeout',
    'backoff.seconds': 0.25,
    final: false,
    codes: [502, 503],
  }, t(20, 1));
  client.setStatus({ code: api.SpanStatusCode.ERROR, message: 'upstream timed out' });
  const clientCtx = api.trace.setSpan(rootCtx, client);
  const inner = tracer.startSpan('serialize payload', {
    kind: api.SpanKind.INTERNAL,
    startTime: t(11, 5),
    links: [
      { context: linked, attributes: { 'link.reason': 'batch', 'link.index': 1 } },
      { context: { ...linked, spanId: crypto.randomBytes(8).toString('hex') } },
    ],
    attributes: { 'payload.bytes': 1024, 'payload.compressed': true },
  }, clientCtx);
  inner.end(t(15, 3));
  client.end(t(80, 42));
  root.setStatus({ code: api.SpanStatusCode.OK });
  root.end(t(100, 1));
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const recorder = new RecordingExporter(makeExporter(o));
  const resource = defaultResource().merge(resourceFromAttributes({
    'service.name': o.service,
    'service.version': '1.2.3',
    'deployment.environment.name': 'test',
    'host.cores': 2,
    'ottr.test.ratio': 0.5,
    'ottr.test.enabled': true,
    'ottr.test.tags': ['sdk', 'js', o.protocol],
  }));
  const processor = o.processor === 'simple'
    ? new SimpleSpanProcessor(recorder)
    : new BatchSpanProcessor(recorder, { scheduledDelayMillis: 60000 });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer('ottr.sdk.emit', '0.9.1');
  emitTrace(tracer, Math.floor(Date.now() / 1000) - 5);
  await provider.forceFlush();
  await provider.shutdown();

  const failed = recorder.results.filter((r) => r.code !== ExportResultCode.SUCCESS);
  const first = recorder.spans[0];
  const out = {
    sdk: 'js',
    protocol: o.protocol,
    compression: o.compression,
    processor: o.processor,
    endpoint: o.endpoint,
    exportCalls: recorder.results.length,
    resource: { attributes: first ? keyValues(first.resource.attributes) : [] },
    scope: first ? {
      name: first.instrumentationScope.name,
      version: first.instrumentationScope.version || '',
      attributes: [],
    } : null,
    traceId: first ? first.spanContext().traceId : '',
    spans: recorder.spans.map(describeSpan),
  };
  fs.writeFileSync(o.out, JSON.stringify(out, null, 1));
  if (recorder.spans.length !== 3 || failed.length > 0 || recorder.results.length === 0) {
    const why = failed.map((r) => (r.error ? String(r.error.message || r.error) : 'failed'));
    process.stderr.write(`emit.js: export via ${o.protocol} to ${o.endpoint} failed: ` +
      `${recorder.spans.length} spans handed over, ${failed.length} of ` +
      `${recorder.results.length} export calls failed ${JSON.stringify(why)}\n`);
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write(`emit.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
