// tests/integration/sdk/emit_zipkin.js - sends one known trace to a Zipkin endpoint
// with the OpenTelemetry JavaScript Zipkin exporter, and writes the spans it sent
// (as its own transform encodes them) to --out for the test to compare.
//   node emit_zipkin.js --endpoint HOST:PORT --service NAME --out FILE
'use strict';

const fs = require('fs');
const api = require('@opentelemetry/api');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { ZipkinExporter } = require('@opentelemetry/exporter-zipkin');
const { toZipkinSpan } = require('@opentelemetry/exporter-zipkin/build/src/transform');

const o = {};
for (let i = 2; i < process.argv.length; i += 2) o[process.argv[i].slice(2)] = process.argv[i + 1];
if (!o.endpoint || !o.service || !o.out) {
  process.stderr.write('usage: node emit_zipkin.js --endpoint HOST:PORT --service NAME --out FILE\n');
  process.exit(2);
}

const sent = [];
const exporter = new ZipkinExporter({ url: `http://${o.endpoint}/api/v2/spans` });
const inner = exporter.export.bind(exporter);
exporter.export = (spans, cb) => {
  for (const s of spans) sent.push(toZipkinSpan(s, o.service, 'otel.status_code', 'error'));
  inner(spans, cb);
};

const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': o.service }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('zipkin-js-test', '0.1.0');

tracer.startActiveSpan('POST /pay', { kind: api.SpanKind.SERVER }, (root) => {
  root.setAttribute('http.method', 'POST');
  root.addEvent('validated');
  const ctx = api.trace.setSpan(api.context.active(), root);
  const child = tracer.startSpan('charge card', {
    kind: api.SpanKind.CLIENT,
    attributes: { 'peer.service': 'bank' },
  }, ctx);
  child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'declined' });
  child.end();
  root.end();
});

provider.shutdown().then(() => {
  fs.writeFileSync(o.out, JSON.stringify(sent));
}, (e) => {
  process.stderr.write(`emit_zipkin.js: ${e}\n`);
  process.exit(1);
});
