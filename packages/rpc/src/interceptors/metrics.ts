// Prometheus metrics with go-zero's names: rpc_server_requests_duration_ms (histogram,
// label method), rpc_server_requests_code_total (counter, labels method, code) and the
// rpc_client_* twins. One set per prom-client Registry, created on first use.
import { Counter, Histogram, Registry, register as defaultRegistry } from 'prom-client';

export const durationBucketsMs = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000];

export interface RpcMetrics {
  duration: Histogram<'method'>;
  codes: Counter<'method' | 'code'>;
}

const cache = new WeakMap<Registry, { server?: RpcMetrics; client?: RpcMetrics }>();

function make(registry: Registry, side: 'server' | 'client'): RpcMetrics {
  let entry = cache.get(registry);
  if (!entry) cache.set(registry, (entry = {}));
  const existing = entry[side];
  if (existing) return existing;
  const made: RpcMetrics = {
    duration: new Histogram({
      name: `rpc_${side}_requests_duration_ms`,
      help: `rpc ${side} requests duration(ms).`,
      labelNames: ['method'],
      buckets: durationBucketsMs,
      registers: [registry],
    }),
    codes: new Counter({
      name: `rpc_${side}_requests_code_total`,
      help: `rpc ${side} requests code count.`,
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
  };
  entry[side] = made;
  return made;
}

export function serverMetrics(registry: Registry = defaultRegistry): RpcMetrics {
  return make(registry, 'server');
}

export function clientMetrics(registry: Registry = defaultRegistry): RpcMetrics {
  return make(registry, 'client');
}
