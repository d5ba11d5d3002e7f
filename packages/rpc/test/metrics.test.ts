// rpc_server_* / rpc_client_* metrics: record() updates prom-client's series in place; the
// exposition must be exactly what prom-client's own observe()/inc() would have produced,
// also after the registry or a metric is reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { serverMetrics, clientMetrics, durationBucketsMs } from '../src/index.js';

function reference(registry: Registry, side: 'server' | 'client') {
  const duration = new Histogram({ name: `rpc_${side}_requests_duration_ms`, help: `rpc ${side} requests duration(ms).`, labelNames: ['method'], buckets: durationBucketsMs, registers: [registry] });
  const codes = new Counter({ name: `rpc_${side}_requests_code_total`, help: `rpc ${side} requests code count.`, labelNames: ['method', 'code'], registers: [registry] });
  return (method: string, code: number, ms: number) => {
    duration.observe({ method }, ms);
    codes.inc({ method, code: String(code) });
  };
}

const calls: Array<[string, number, number]> = [
  ['/a.S/M', 0, 0.3],
  ['/a.S/M', 0, 1],
  ['/a.S/M', 14, 1.0001],
  ['/a.S/N', 0, 2],
  ['/a.S/M', 0, 4999.9],
  ['/a.S/M', 4, 5000],
  ['/a.S/M', 0, 5001],
  ['/a.S/N', 0, 70_000],
  ['/a.S/M', 0, 0],
];

for (const side of ['server', 'client'] as const) {
  test(`${side} metrics: in-place updates match prom-client's observe/inc, across resets`, async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const m = side === 'server' ? serverMetrics(ours) : clientMetrics(ours);
    const ref = reference(theirs, side);
    const both = (method: string, code: number, ms: number) => {
      m.record(method, code, ms);
      ref(method, code, ms);
    };
    for (let i = 0; i < 3; i++) for (const c of calls) both(...c);
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), new RegExp(`rpc_${side}_requests_code_total\\{method="/a.S/M",code="0"\\} 15`));

    ours.resetMetrics();
    theirs.resetMetrics();
    for (const c of calls.slice(3)) both(...c);
    assert.equal(await ours.metrics(), await theirs.metrics(), 'after Registry.resetMetrics()');

    m.duration.reset();
    (theirs.getSingleMetric(`rpc_${side}_requests_duration_ms`) as Histogram).reset();
    for (const c of calls) both(...c);
    assert.equal(await ours.metrics(), await theirs.metrics(), 'after Histogram.reset()');
  });
}
