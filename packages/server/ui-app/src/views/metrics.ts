// Metrics: writes/s, reads/s, WAL fsync and backend commit latency and DB size over the last
// minutes, from the member's /metrics (etcd's metric names), sampled every two seconds.

import { errorBox, h, replace } from '../dom.js';
import { lineChart, type Point } from '../chart.js';
import { formatBytes } from '../format.js';
import { parseMetrics, sum, type Sample } from '../metrics-text.js';
import type { Screen } from '../session.js';

const sampleMs = 2000;
const windowMs = 10 * 60 * 1000;

interface Reading {
  t: number;
  writes?: number;
  reads?: number;
  fsyncSum?: number;
  fsyncCount?: number;
  commitSum?: number;
  commitCount?: number;
  db?: number;
  dbInUse?: number;
}

function read(samples: Sample[], t: number): Reading {
  const puts = sum(samples, 'etcd_mvcc_put_total');
  const dels = sum(samples, 'etcd_mvcc_delete_total');
  return {
    t,
    // etcd's mvcc counters; without them, the proposals applied
    writes: puts !== undefined || dels !== undefined ? (puts ?? 0) + (dels ?? 0) : sum(samples, 'etcd_server_proposals_applied_total'),
    reads: sum(samples, 'etcd_mvcc_range_total') ?? sum(samples, 'grpc_server_handled_total', { grpc_method: 'Range' }),
    fsyncSum: sum(samples, 'etcd_disk_wal_fsync_duration_seconds_sum'),
    fsyncCount: sum(samples, 'etcd_disk_wal_fsync_duration_seconds_count'),
    commitSum: sum(samples, 'etcd_disk_backend_commit_duration_seconds_sum'),
    commitCount: sum(samples, 'etcd_disk_backend_commit_duration_seconds_count'),
    db: sum(samples, 'etcd_mvcc_db_total_size_in_bytes'),
    dbInUse: sum(samples, 'etcd_mvcc_db_total_size_in_use_in_bytes'),
  };
}

/** Per-second rate between readings, or the average latency (ms) of what happened between them. */
function series(rs: Reading[], f: (a: Reading, b: Reading) => number | undefined): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < rs.length; i++) {
    const v = f(rs[i - 1], rs[i]);
    if (v !== undefined && Number.isFinite(v)) out.push({ t: rs[i].t, v });
  }
  return out;
}

const rate = (k: 'writes' | 'reads') => (a: Reading, b: Reading) => (a[k] === undefined || b[k] === undefined ? undefined : Math.max(0, (b[k]! - a[k]!) / ((b.t - a.t) / 1000)));
const latency = (s: 'fsyncSum' | 'commitSum', c: 'fsyncCount' | 'commitCount') => (a: Reading, b: Reading) => {
  if (a[s] === undefined || b[s] === undefined || a[c] === undefined || b[c] === undefined) return undefined;
  const n = b[c]! - a[c]!;
  return n > 0 ? ((b[s]! - a[s]!) / n) * 1000 : 0;
};

export const metricsScreen: Screen = {
  id: 'metrics',
  title: 'Metrics',
  render(root) {
    let gone = false;
    let timer: number | undefined;
    const readings: Reading[] = [];
    const charts = h('div', { class: 'charts' });
    const note = h('p', { class: 'muted' }, `Sampled every ${sampleMs / 1000} s from /metrics while this screen is open; the last ${windowMs / 60000} minutes.`);
    replace(root, h('h1', {}, 'Metrics'), note, charts);
    const perSec = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)}/s`;
    const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;

    function draw(): void {
      const now = Date.now();
      const gauge = (k: 'db' | 'dbInUse') => readings.filter((r) => r[k] !== undefined).map((r) => ({ t: r.t, v: r[k]! }));
      replace(
        charts,
        lineChart('Writes', series(readings, rate('writes')), windowMs, now, perSec),
        lineChart('Reads', series(readings, rate('reads')), windowMs, now, perSec),
        lineChart('WAL fsync (average)', series(readings, latency('fsyncSum', 'fsyncCount')), windowMs, now, ms),
        lineChart('Backend commit (average)', series(readings, latency('commitSum', 'commitCount')), windowMs, now, ms),
        lineChart('DB size', gauge('db'), windowMs, now, formatBytes),
        lineChart('DB size in use', gauge('dbInUse'), windowMs, now, formatBytes),
      );
    }

    async function sample(): Promise<void> {
      try {
        const res = await fetch('/metrics');
        if (!res.ok) throw new Error(`/metrics: HTTP ${res.status}`);
        const text = await res.text();
        if (gone) return;
        readings.push(read(parseMetrics(text), Date.now()));
        while (readings.length > 0 && readings[0].t < Date.now() - windowMs) readings.shift();
        draw();
      } catch (e) {
        if (!gone) replace(charts, errorBox((e as Error).message));
      }
      if (!gone) timer = window.setTimeout(() => void sample(), sampleMs);
    }

    void sample();
    return () => {
      gone = true;
      window.clearTimeout(timer);
    };
  },
};
