// The one way tests start a real etcd 3.4 (the `etcd` on PATH, or tsetcd's binary with the same
// flags): free ports, a data dir the caller owns, ready once the member logs that it serves
// clients (the event, not a guess), stopped by the caller (SIGTERM and wait, or SIGKILL and wait). The per-suite kits (server auth kit, ctl twins,
// differential harness, common's file-format tests) build on it.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cleanEnv } from './processes.js';

/** A port nobody listens on right now (127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RealEtcdOptions {
  /** the server binary: `etcd` from PATH by default (./bin/tsetcd takes the same flags) */
  bin?: string;
  /** the directory etcd keeps its data in (--data-dir is `<dir>/data` unless dataDir is given) */
  dir: string;
  /** an existing data dir to start on (e.g. one written by `snapshot restore`) */
  dataDir?: string;
  clientPort?: number;
  peerPort?: number;
  name?: string;
  /** advertised URLs: by default the listening ones */
  advertiseClientUrl?: string;
  initialAdvertisePeerUrl?: string;
  initialCluster?: string;
  initialClusterToken?: string;
  /** more flags */
  args?: string[];
  readyTimeoutMs?: number;
}

export interface RealEtcd {
  /** host:port of the client listener */
  endpoint: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  /** resolves when the process has exited */
  exited: Promise<void>;
  /** SIGTERM, then waits for the exit (nothing when it has exited) */
  stop(): Promise<void>;
  /** SIGKILL, then waits for the exit */
  kill(): Promise<void>;
}

export async function startRealEtcd(o: RealEtcdOptions): Promise<RealEtcd> {
  const clientPort = o.clientPort ?? (await freePort());
  const peerPort = o.peerPort ?? (await freePort());
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const name = o.name ?? 'default';
  const dataDir = o.dataDir ?? join(o.dir, 'data');
  const advertisedPeer = o.initialAdvertisePeerUrl ?? peer;
  const proc: ChildProcess = spawn(
    o.bin ?? 'etcd',
    [
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', client,
      '--advertise-client-urls', o.advertiseClientUrl ?? client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', advertisedPeer,
      '--initial-cluster', o.initialCluster ?? `${name}=${advertisedPeer}`,
      ...(o.initialClusterToken !== undefined ? ['--initial-cluster-token', o.initialClusterToken] : []),
      ...(o.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const end = async (signal: NodeJS.Signals) => {
    if (running()) proc.kill(signal);
    await exited;
  };
  const timeoutMs = o.readyTimeoutMs ?? 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`etcd did not start within ${timeoutMs} ms:\n${log}`)), timeoutMs);
      const onData = (d: Buffer) => {
        log += d.toString();
        if (log.includes('ready to serve client requests')) {
          clearTimeout(timer);
          proc.stderr!.off('data', onData);
          proc.stderr!.resume();
          resolve();
        }
      };
      proc.stderr!.on('data', onData);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`etcd exited before it was ready:\n${log}`));
      });
    });
  } catch (e) {
    await end('SIGKILL');
    throw e;
  }
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    clientPort,
    peerPort,
    dataDir,
    exited,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}
