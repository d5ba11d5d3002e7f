// /metrics carries the process figures every etcd exposes (Prometheus' process collector names
// and help texts), so etcd's dashboards read a tsetcd member unchanged, and the V8 heap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startMember } from './server-helpers.js';

test('/metrics: process_* as etcd exposes them, and the V8 heap', async (t) => {
  const m = await startMember(t);
  const text = await (await fetch(`${m.clientUrls[0]}/metrics`)).text();
  const value = (name: string): number => {
    const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    assert.ok(line, `${name} missing`);
    return Number(line[1]);
  };
  assert.match(text, /^# HELP process_resident_memory_bytes Resident memory size in bytes\.$/m);
  assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
  const rss = value('process_resident_memory_bytes');
  // the member runs in this process: its RSS is this process's, as /proc reports it
  const mine = Number(readFileSync('/proc/self/statm', 'latin1').split(' ')[1]) * 4096;
  assert.ok(rss > 10 * 2 ** 20 && Math.abs(rss - mine) < 64 * 2 ** 20, `rss ${rss} vs ${mine}`);
  assert.ok(value('process_virtual_memory_bytes') >= rss);
  assert.ok(value('process_cpu_seconds_total') > 0);
  assert.ok(value('process_open_fds') > 3);
  assert.ok(value('process_max_fds') >= value('process_open_fds'));
  const start = value('process_start_time_seconds');
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600);
  assert.ok(value('process_virtual_memory_max_bytes') > 0);
  assert.ok(value('nodejs_heap_size_used_bytes') > 0);
  assert.ok(value('nodejs_heap_size_total_bytes') >= value('nodejs_heap_size_used_bytes'));
  assert.ok(value('nodejs_external_memory_bytes') >= 0);
});
