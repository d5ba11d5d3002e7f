// etcd's structured JSON log lines (zap production style): level, ts, caller, msg, then fields.

import { appendFileSync } from 'node:fs';
import type { ServerLogger } from '../etcdserver/config.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function jsonable(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(jsonable);
  return v;
}

/** outputs: "stderr", "stdout", "default" (stderr) or file paths (etcd --log-outputs). */
export function createZapLogger(level: LogLevel = 'info', outputs: string[] = ['stderr'], caller = 'embed/etcd.go'): ServerLogger {
  const min = rank[level];
  const writers = outputs.map((o) => {
    if (o === 'stderr' || o === 'default') return (s: string) => process.stderr.write(s);
    if (o === 'stdout') return (s: string) => process.stdout.write(s);
    return (s: string) => appendFileSync(o, s);
  });
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (rank[lvl] < min) return;
    const rec: Record<string, unknown> = { level: lvl, ts: new Date().toISOString(), caller, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = jsonable(v);
    const line = JSON.stringify(rec) + '\n';
    for (const w of writers) w(line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
