// One real etcd 3.4 member in a directory, for the tests that read files etcd itself wrote.
// Ready when etcd logs that it serves clients; stop() waits for the process to exit.

import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RealEtcd {
  endpoint: string;
  dataDir: string;
  /** etcdctl against this member; returns stdout */
  ctl(...args: string[]): string;
  stop(): Promise<void>;
}

export async function startRealEtcd(dir: string, readyTimeoutMs = 30_000): Promise<RealEtcd> {
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${client}`;
  const dataDir = join(dir, 'data');
  const etcd = spawn('etcd', ['--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `default=http://127.0.0.1:${peer}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => etcd.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`etcd not ready after ${readyTimeoutMs} ms: ${log}`)), readyTimeoutMs);
      etcd.stderr.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('ready to serve client requests')) {
          clearTimeout(timer);
          resolve();
        }
      });
      etcd.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`etcd exited (${code}): ${log}`));
      });
    });
  } catch (e) {
    etcd.kill('SIGKILL');
    await exited;
    throw e;
  }
  etcd.stderr.resume();
  return {
    endpoint,
    dataDir,
    ctl: (...args) => execFileSync('etcdctl', ['--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' } }).toString(),
    async stop() {
      if (etcd.exitCode === null && etcd.signalCode === null) etcd.kill('SIGTERM');
      await exited;
    },
  };
}
