// The process figures every etcd exposes on /metrics (Prometheus' process collector: CPU,
// resident and virtual memory, file descriptors, start time), under the same names and help
// texts, so etcd's dashboards and alerts (e.g. its Grafana "Memory" panel) read a tsetcd member
// unchanged; plus the V8 heap, which plays the part of etcd's go_memstats_*.
// Read from /proc/self on Linux at scrape time; elsewhere what Node reports.

import { readFileSync, readdirSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { Gauge, Counter, type Registry } from 'prom-client';

const pageBytes = 4096;
/** when this process started, in seconds since the epoch */
const startSeconds = Math.round(performance.timeOrigin) / 1000;

/** vsize and rss from /proc/self/stat (fields 23 and 24, after the parenthesised command name) */
function procStat(): { virtual: number; resident: number } | undefined {
  try {
    const s = readFileSync('/proc/self/stat', 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { virtual: Number(f[20]), resident: Number(f[21]) * pageBytes };
  } catch {
    return undefined;
  }
}

/** a soft limit from /proc/self/limits ("unlimited": Go's client reports 2^64-1) */
function procLimit(row: string): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'latin1').split('\n').find((l) => l.startsWith(row));
    if (line === undefined) return undefined;
    const soft = line.slice(row.length).trim().split(/\s+/)[0];
    return soft === 'unlimited' ? 18446744073709551615 : Number(soft);
  } catch {
    return undefined;
  }
}

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

export function registerProcessMetrics(reg: Registry): void {
  const gauge = (name: string, help: string, value: () => number | undefined) =>
    new Gauge({ name, help, registers: [reg], collect() { const v = value(); if (v !== undefined) this.set(v); } });
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers: [reg],
    collect() {
      const u = process.cpuUsage();
      this.reset();
      this.inc((u.user + u.system) / 1e6);
    },
  });
  gauge('process_max_fds', 'Maximum number of open file descriptors.', () => procLimit('Max open files'));
  gauge('process_open_fds', 'Number of open file descriptors.', openFds);
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => procStat()?.resident ?? process.memoryUsage.rss());
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => startSeconds);
  gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', () => procStat()?.virtual);
  gauge('process_virtual_memory_max_bytes', 'Maximum amount of virtual memory available in bytes.', () => procLimit('Max address space'));
  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', () => getHeapStatistics().total_heap_size);
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', () => getHeapStatistics().used_heap_size);
  gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', () => getHeapStatistics().external_memory);
}
