// Prometheus metrics with go-zero's names: rpc_server_requests_duration_ms (histogram,
// label method), rpc_server_requests_code_total (counter, labels method, code) and the
// rpc_client_* twins. One set per prom-client Registry, created on first use.
import { Counter, Histogram, Registry, register as defaultRegistry } from 'prom-client';

export const durationBucketsMs = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000];

export interface RpcMetrics {
  duration: Histogram<'method'>;
  codes: Counter<'method' | 'code'>;
  /** Records one call; label children are cached per method and code. */
  record(method: string, code: number, durationMs: number): void;
}

const cache = new WeakMap<Registry, { server?: RpcMetrics; client?: RpcMetrics }>();

function make(registry: Registry, side: 'server' | 'client'): RpcMetrics {
  let entry = cache.get(registry);
  if (!entry) cache.set(registry, (entry = {}));
  const existing = entry[side];
  if (existing) return existing;
  const duration = new Histogram({
      name: `rpc_${side}_requests_duration_ms`,
      help: `rpc ${side} requests duration(ms).`,
      labelNames: ['method'],
      buckets: durationBucketsMs,
      registers: [registry],
    });
  const codes = new Counter({
      name: `rpc_${side}_requests_code_total`,
      help: `rpc ${side} requests code count.`,
      labelNames: ['method', 'code'],
      registers: [registry],
    });
  const durationChildren = new Map<string, { observe(v: number): void }>();
  const codeChildren = new Map<string, { inc(): void }>();
  const made: RpcMetrics = {
    duration,
    codes,
    record(method, code, durationMs) {
      let d = durationChildren.get(method);
      if (!d) durationChildren.set(method, (d = duration.labels(method)));
      d.observe(durationMs);
      const key = `${code}${method}`;
      let c = codeChildren.get(key);
      if (!c) codeChildren.set(key, (c = codes.labels(method, String(code))));
      c.inc();
    },
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
