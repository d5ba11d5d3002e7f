// Starts a real server for a test file: etcd (default) or tsetcd, chosen with ETCD_TARGET=etcd|tsetcd.
// Ports are picked free by the OS, the data dir is a temp dir; everything is removed by close().
//   const cluster = await startCluster({ members: 1 });  t.after(() => cluster.close());
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type TlsOptions } from '../../src/index.js';
import { freePort } from '../../../../test/kit/real-etcd.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export type Target = 'etcd' | 'tsetcd';
export const target: Target = process.env.ETCD_TARGET === 'tsetcd' ? 'tsetcd' : 'etcd';

/** The server binary for the current target. */
export function etcdBinary(): string {
  return target === 'tsetcd' ? join(repoRoot, 'bin/tsetcd') : (process.env.ETCD_BIN ?? 'etcd');
}

/** A TCP port the OS considers free right now. */
export { freePort };

export interface MemberProcess {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess | undefined;
  log: string[];
}

export interface StartOptions {
  /** Number of members (1 or 3 are sensible). */
  members?: number;
  /** Extra flags for every member (e.g. --experimental-watch-progress-notify-interval=200ms). */
  args?: string[];
  /** Milliseconds to wait for the cluster to serve a linearizable read. */
  readyTimeoutMs?: number;
  /** Serve clients over TLS: pass the server flags in `args`, and the client side here. */
  clientTls?: TlsOptions;
}

export class TestCluster {
  readonly members: MemberProcess[];
  private readonly root: string;
  private closed = false;

  constructor(
    members: MemberProcess[],
    root: string,
    private readonly args: string[],
    private readonly clientTls?: TlsOptions,
  ) {
    this.members = members;
    this.root = root;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  private initialCluster(): string {
    return this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  /** Starts (or restarts, same data dir) member i. */
  start(i: number): void {
    const m = this.members[i];
    if (this.closed) throw new Error('cluster is closed');
    if (m.proc !== undefined) throw new Error(`${m.name} already running`);
    const flags = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${this.initialCluster()}`,
      '--initial-cluster-state=new',
      '--initial-cluster-token=tsetcd-client-test',
      '--heartbeat-interval=50',
      '--election-timeout=500',
      ...this.args,
    ];
    const proc = spawn(etcdBinary(), flags, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      m.log.push(b.toString());
      if (m.log.length > 200) m.log.shift();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('exit', () => {
      if (m.proc === proc) m.proc = undefined;
    });
    m.proc = proc;
  }

  /** Stops member i: SIGKILL (crash) by default, SIGTERM for a graceful stop. */
  async stop(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const m = this.members[i];
    const p = m.proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) {
      m.proc = undefined;
      return;
    }
    await new Promise<void>((res) => {
      p.once('exit', () => res());
      p.kill(signal);
    });
    m.proc = undefined;
  }

  async restart(i: number, readyTimeoutMs = 10_000): Promise<void> {
    await this.stop(i);
    this.start(i);
    await this.waitReady(readyTimeoutMs, [this.members[i].clientUrl]);
  }

  /**
   * Waits until each given endpoint answers a linearizable read (i.e. the cluster has a leader)
   * and lists every running member with its client URL (each member publishes its URLs through
   * raft after it starts; the others learn them when they apply that entry).
   */
  async waitReady(timeoutMs = 10_000, endpoints = this.endpoints): Promise<void> {
    const until = Date.now() + timeoutMs;
    const running = (): string[] => this.members.filter((m) => m.proc !== undefined).map((m) => m.clientUrl);
    for (const ep of endpoints) {
      const c = new Client({ endpoints: [ep], dialTimeout: 250, tls: this.clientTls });
      try {
        for (;;) {
          try {
            await c.get('__ready_probe__', { timeout: 500 });
            const listed = new Set((await c.cluster.memberList({ timeout: 500 })).members.flatMap((m) => m.clientURLs));
            if (!running().every((u) => listed.has(u))) throw new Error(`member list ${[...listed].join(',')} lacks a running member`);
            break;
          } catch (err) {
            const m = this.members.find((x) => x.clientUrl === ep);
            const exited = m !== undefined && m.proc === undefined;
            if (Date.now() > until || exited) {
              const why = exited ? 'server exited' : String(err);
              throw new Error(`${ep} not ready: ${why}\n${m?.log.slice(-20).join('') ?? ''}`);
            }
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      } finally {
        await c.close();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.members.map((_, i) => this.stop(i)));
    rmSync(this.root, { recursive: true, force: true });
  }
}

export async function startCluster(opts: StartOptions = {}): Promise<TestCluster> {
  const n = opts.members ?? 1;
  for (let attempt = 0; ; attempt++) {
    const root = mkdtempSync(join(tmpdir(), 'tsetcd-client-test-'));
    const members: MemberProcess[] = [];
    for (let i = 0; i < n; i++) {
      const cp = await freePort();
      const pp = await freePort();
      members.push({
        name: `m${i}`,
        clientUrl: `${opts.clientTls !== undefined ? 'https' : 'http'}://127.0.0.1:${cp}`,
        peerUrl: `http://127.0.0.1:${pp}`,
        dataDir: join(root, `m${i}.etcd`),
        proc: undefined,
        log: [],
      });
    }
    const cluster = new TestCluster(members, root, opts.args ?? [], opts.clientTls);
    for (let i = 0; i < n; i++) cluster.start(i);
    try {
      await cluster.waitReady(opts.readyTimeoutMs ?? 15_000);
      return cluster;
    } catch (err) {
      const log = members.flatMap((m) => m.log).join('');
      await cluster.close();
      // A port picked free may have been taken meanwhile, or a loaded machine was too slow:
      // try again with new ports, unless the server rejected its flags.
      if (attempt >= 2 || /flag provided but not defined|invalid value|unknown flag/i.test(log)) throw err;
      console.error(`startCluster: retrying after: ${String(err).split('\n')[0]}`);
    }
  }
}
