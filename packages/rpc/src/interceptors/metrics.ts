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

// prom-client keeps each labelled series as one object in the metric's hashMap; observe()
// and inc() rebuild the label hash and allocate on every call, which showed in per-call
// profiles. Once a series exists we update its object directly, as observe/inc would.
interface HistEntry {
  labels?: Record<string, string>;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}
interface CountEntry {
  labels?: Record<string, string>;
  value: number;
}
interface Internal<E> {
  hashMap: Record<string, E>;
}
interface Live<E> {
  hash: string;
  entry: E;
}
interface MethodSeries {
  child: { observe(v: number): void };
  /** undefined: not looked up yet; null: not found, always go through observe() */
  hist: Live<HistEntry> | null | undefined;
  codes: Map<number, { child: { inc(): void }; live: Live<CountEntry> | null | undefined }>;
}

/** The series' object in the metric's hashMap, or null when prom-client does not keep one there. */
function liveEntry<E>(metric: unknown, matches: (e: E) => boolean): Live<E> | null {
  const map = (metric as Partial<Internal<E>>).hashMap;
  if (typeof map !== 'object' || map === null) return null;
  for (const [hash, entry] of Object.entries(map)) if (typeof entry === 'object' && entry !== null && matches(entry)) return { hash, entry };
  return null;
}

/** The bucket prom-client's observe() counts a value in (the first bound ≥ value), or undefined above the last. */
function findBucket(v: number): number | undefined {
  for (let i = 0; i < durationBucketsMs.length; i++) if (v <= durationBucketsMs[i]) return durationBucketsMs[i];
  return undefined;
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
  const series = new Map<string, MethodSeries>();
  const made: RpcMetrics = {
    duration,
    codes,
    record(method, code, durationMs) {
      let m = series.get(method);
      if (!m) series.set(method, (m = { child: duration.labels(method), hist: undefined, codes: new Map() }));
      // Straight into prom-client's entry for this series while it is the live one (reset()
      // or a prom-client with another layout sends us back through observe/inc).
      const h = m.hist;
      if (h && (duration as unknown as Internal<HistEntry>).hashMap[h.hash] === h.entry) {
        const e = h.entry;
        e.sum += durationMs;
        e.count += 1;
        const b = findBucket(durationMs);
        if (b !== undefined) e.bucketValues[b] += 1;
      } else {
        m.child.observe(durationMs);
        if (h !== null) m.hist = liveEntry(duration, (e: HistEntry) => e.labels?.method === method && typeof e.sum === 'number' && typeof e.count === 'number' && typeof e.bucketValues === 'object' && durationBucketsMs.every((b) => typeof e.bucketValues[b] === 'number'));
      }
      let c = m.codes.get(code);
      if (!c) m.codes.set(code, (c = { child: codes.labels(method, String(code)), live: undefined }));
      const l = c.live;
      if (l && (codes as unknown as Internal<CountEntry>).hashMap[l.hash] === l.entry) l.entry.value += 1;
      else {
        c.child.inc();
        const codeLabel = String(code);
        if (l !== null) c.live = liveEntry(codes, (e: CountEntry) => e.labels?.method === method && e.labels?.code === codeLabel && typeof e.value === 'number');
      }
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
