#!/usr/bin/env node
// v2 keys load against any member serving /v2/keys (tsetcd --enable-v2 or etcd --enable-v2):
// N PUTs or GETs of 1000 keys over C keep-alive HTTP/1.1 connections; prints requests/s and the
// server's CPU µs per request (utime+stime of PID from /proc, so run it on the server's machine).
//   node bench/v2-keys-load.mjs HOST PORT PID PUT|GET N C
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [host, port, pid, method, n, c] = process.argv.slice(2);
if (!['PUT', 'GET'].includes(method)) {
  console.error('usage: v2-keys-load.mjs HOST PORT PID PUT|GET N C');
  process.exit(2);
}
const total = Number(n);
const conns = Number(c);
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
const ticks = 100; // USER_HZ
function cpuMicros() {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / ticks;
}
function one(i) {
  return new Promise((resolve, reject) => {
    const body = method === 'PUT' ? `value=v${i}` : undefined;
    const headers = body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) };
    const req = http.request({ host, port, agent, method, path: `/v2/keys/k${i % 1000}`, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const cpu0 = cpuMicros();
const t0 = performance.now();
let next = 0;
await Promise.all(Array.from({ length: conns }, async () => {
  while (next < total) await one(next++);
}));
const secs = (performance.now() - t0) / 1000;
console.log(`${method} n=${total} c=${conns}: ${(total / secs).toFixed(0)} req/s, server CPU ${((cpuMicros() - cpu0) / total).toFixed(1)} µs/req`);
agent.destroy();
