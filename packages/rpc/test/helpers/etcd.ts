// Starts a real etcd (3.4.x from PATH, or the binary in TSETCD_RPC_ETCD_BIN) on free
// ports for a test, and can stop/restart it on the same data dir for outage tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { freePort } from '../../../../test/kit/real-etcd.js';

export { freePort };

export interface EtcdHandle {
  endpoint: string; // host:port
  dataDir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

async function waitForEtcd(endpoint: string, timeoutMs: number): Promise<void> {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  try {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        client.makeUnaryRequest(
          '/etcdserverpb.KV/Range',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0x01, 0x00]),
          new grpc.Metadata(),
          { deadline: Date.now() + 500 },
          (err) => resolve(!err),
        );
      });
      if (ok) return;
      if (Date.now() > end) throw new Error(`etcd at ${endpoint} did not become ready`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}

export async function startEtcd(): Promise<EtcdHandle> {
  const bin = process.env.TSETCD_RPC_ETCD_BIN ?? 'etcd';
  const dataDir = mkdtempSync(join(tmpdir(), 'rpc-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `127.0.0.1:${clientPort}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn(
      bin,
      [
        '--data-dir', dataDir,
        '--listen-client-urls', `http://${endpoint}`,
        '--advertise-client-urls', `http://${endpoint}`,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child = c;
    try {
      await waitForEtcd(endpoint, 15_000);
    } catch (err) {
      c.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${stderr}`);
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    endpoint,
    dataDir,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
