// The one kit for multi-member clusters of real server processes: ./bin/tsetcd or real etcd 3.4
// (same flags) on free local ports, optionally behind a PeerProxy per peer URL (so a test can
// partition members), peer and client TLS, each member ready when it logs that it serves clients
// (the event, not a guess). Every test suite of the workspace uses it (packages/client/test too,
// through a relative import); stopped by close(), which t.after calls.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type TlsOptions } from '@tsetcd/client';
import { tsetcdBin } from './tsetcd-process.js';
import { PeerProxy } from './peer-proxy.js';
import { freePort } from './real-etcd.js';
import { eventually } from './wait.js';
import { onLines } from './processes.js';

export { PeerProxy };

export const heartbeatMs = 50;
export const electionMs = 500;
/** how long a member may take to serve clients after its process started */
export const memberStartBudgetMs = 60_000;

/**
 * The server the suites that run against either pick with ETCD_TARGET=etcd|tsetcd (real etcd by
 * default; ETCD_BIN overrides its path): the client's tests are written against real etcd.
 */
export const etcdTarget: 'etcd' | 'tsetcd' = process.env.ETCD_TARGET === 'tsetcd' ? 'tsetcd' : 'etcd';
export const targetBin: string = etcdTarget === 'tsetcd' ? tsetcdBin : (process.env.ETCD_BIN ?? 'etcd');

export interface MemberSpec {
  name: string;
  clientPort: number;
  /** where the member listens for peers */
  peerPort: number;
  /** the advertised peer port (a proxy's port when proxied) */
  advertisedPeerPort: number;
  dataDir: string;
  proxy?: PeerProxy;
  proc?: ChildProcess;
  exited?: Promise<void>;
  /** the last 400 lines the member logged (a test may empty it to watch for new ones) */
  logs: string[];
  /** checks run on every new log line (see waitForLog) */
  readonly lineWaiters: Set<(line: string) => void>;
  /** hex member ID, known once it served */
  id?: string;
}

export interface ClusterOptions {
  /** members that start() bootstraps (default 3) */
  size?: number;
  /** put a PeerProxy in front of every peer URL */
  proxies?: boolean;
  /** extra server flags for every member */
  args?: string[];
  token?: string;
  /** the server binary (default ./bin/tsetcd; 'etcd' or targetBin run real etcd the same way) */
  bin?: string;
  /** peer URLs over HTTPS: members pass these as --peer-* flags (add --peer-client-cert-auth to args) */
  peerTls?: { certFile: string; keyFile: string; caFile: string };
  /** client URLs over HTTPS: the server's flags go in `args`, the client side (for the kit's own clients) here */
  clientTls?: TlsOptions;
}

/** Whatever registers cleanups (a TestContext); undefined when the caller closes the cluster itself. */
export type Cleanup = { after(fn: () => unknown): void } | undefined;

type Options = Required<Omit<ClusterOptions, 'size' | 'peerTls' | 'clientTls'>> & Pick<ClusterOptions, 'peerTls' | 'clientTls'>;

export class ProcessCluster {
  readonly members: MemberSpec[] = [];
  private readonly clients: Client[] = [];
  private closed = false;

  private constructor(
    readonly root: string,
    readonly o: Options,
  ) {}

  /**
   * Starts `size` members bootstrapping a new cluster and resolves once each serves clients, the
   * cluster has a leader and every member is listed (waitReady). A port another process took
   * between freePort() and the member's bind is retried with new ports.
   */
  static async start(t: Cleanup, opts: ClusterOptions = {}): Promise<ProcessCluster> {
    for (let attempt = 1; ; attempt++) {
      const c = await ProcessCluster.create(t, opts);
      try {
        const size = opts.size ?? 3;
        for (let i = 0; i < size; i++) await c.addSpec();
        await Promise.all(c.members.map((_, i) => c.startMember(i, 'new')));
        await c.waitReady();
        return c;
      } catch (e) {
        await c.close();
        if (attempt >= 3 || !/address already in use|EADDRINUSE/.test(String(e))) throw e;
      }
    }
  }

  /** A cluster with no member yet (add them with addSpec + startMember). */
  static async create(t: Cleanup, opts: ClusterOptions = {}): Promise<ProcessCluster> {
    const root = await mkdtemp(join(tmpdir(), 'tsetcd-cluster-'));
    const c = new ProcessCluster(root, {
      proxies: opts.proxies ?? false,
      args: opts.args ?? [],
      token: opts.token ?? `tok-${process.pid}-${Date.now()}`,
      bin: opts.bin ?? tsetcdBin,
      peerTls: opts.peerTls,
      clientTls: opts.clientTls,
    });
    t?.after(() => c.close());
    return c;
  }

  /** Prepares ports (and a proxy) for one more member; returns its index. */
  async addSpec(name = `etcd0${this.members.length + 1}`): Promise<number> {
    // freePort() releases its port at once, so two calls may return the same one: keep the
    // ports of this cluster distinct
    const taken = new Set(this.members.flatMap((m) => [m.clientPort, m.peerPort, m.advertisedPeerPort]));
    const distinctPort = async (): Promise<number> => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    const clientPort = await distinctPort();
    const peerPort = await distinctPort();
    const m: MemberSpec = { name, clientPort, peerPort, advertisedPeerPort: peerPort, dataDir: join(this.root, name), logs: [], lineWaiters: new Set() };
    if (this.o.proxies) {
      m.proxy = new PeerProxy(peerPort);
      await m.proxy.listen(await distinctPort());
      m.advertisedPeerPort = m.proxy.port;
    }
    this.members.push(m);
    return this.members.length - 1;
  }

  get peerScheme(): 'http' | 'https' {
    return this.o.peerTls ? 'https' : 'http';
  }

  peerUrl(i: number): string {
    return `${this.peerScheme}://127.0.0.1:${this.members[i].advertisedPeerPort}`;
  }

  clientUrl(i: number): string {
    return `${this.o.clientTls ? 'https' : 'http'}://127.0.0.1:${this.members[i].clientPort}`;
  }

  get endpoints(): string[] {
    return this.members.map((_, i) => this.clientUrl(i));
  }

  /** --initial-cluster for the given member indexes (default: all) */
  initialCluster(indexes = this.members.map((_, i) => i)): string {
    return indexes.map((i) => `${this.members[i].name}=${this.peerUrl(i)}`).join(',');
  }

  /** Spawns member i (its data dir is reused on restart) and resolves once it serves clients. */
  async startMember(i: number, state: 'new' | 'existing', initialCluster?: string, extra: string[] = []): Promise<void> {
    const m = this.members[i];
    if (this.closed) throw new Error('cluster closed');
    const args = [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', this.clientUrl(i),
      '--advertise-client-urls', this.clientUrl(i),
      '--listen-peer-urls', `${this.peerScheme}://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', this.peerUrl(i),
      ...(this.o.peerTls ? ['--peer-cert-file', this.o.peerTls.certFile, '--peer-key-file', this.o.peerTls.keyFile, '--peer-trusted-ca-file', this.o.peerTls.caFile] : []),
      // '' leaves bootstrap to the extra flags (e.g. --discovery)
      ...(initialCluster === '' ? [] : ['--initial-cluster', initialCluster ?? this.initialCluster(), '--initial-cluster-token', this.o.token, '--initial-cluster-state', state]),
      '--heartbeat-interval', String(heartbeatMs),
      '--election-timeout', String(electionMs),
      ...this.o.args,
      ...extra,
    ];
    // real etcd logs JSON lines (as tsetcd does) only with the zap logger
    if (this.o.bin !== tsetcdBin) args.push('--logger', 'zap');
    const proc = spawn(this.o.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    m.proc = proc;
    m.exited = new Promise((r) => proc.on('exit', () => r()));
    const served = this.lineOf(i, proc, '"serving client traffic', memberStartBudgetMs, 'serving');
    onLines(proc.stderr!, (line) => {
      m.logs.push(line);
      if (m.logs.length > 400) m.logs.shift();
      for (const w of m.lineWaiters) w(line);
    });
    await served;
  }

  /**
   * Resolves with the first line member i logs from now on that holds `text`; rejects when the
   * member's process exits first or after `timeoutMs` (with its last lines).
   */
  waitForLog(i: number, text: string, timeoutMs = 30_000): Promise<string> {
    return this.lineOf(i, this.members[i].proc, text, timeoutMs, `logging ${text}`);
  }

  private lineOf(i: number, proc: ChildProcess | undefined, text: string, timeoutMs: number, what: string): Promise<string> {
    const m = this.members[i];
    return new Promise<string>((resolve, reject) => {
      const done = (): void => {
        m.lineWaiters.delete(onLine);
        clearTimeout(timer);
        proc?.off('exit', onExit);
      };
      const onLine = (line: string): void => {
        if (!line.includes(text)) return;
        done();
        resolve(line);
      };
      const onExit = (code: number | null, sig: NodeJS.Signals | null): void => {
        done();
        reject(new Error(`${m.name} exited (${code ?? sig}) before ${what}:\n${m.logs.slice(-30).join('\n')}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${m.name}: ${timeoutMs} ms passed before ${what}:\n${m.logs.slice(-30).join('\n')}`));
      }, timeoutMs);
      m.lineWaiters.add(onLine);
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) onExit(proc?.exitCode ?? null, proc?.signalCode ?? null);
      else proc.once('exit', onExit);
    });
  }

  /** Stops member i (SIGKILL: a crash) and waits for the process to exit. */
  async stopMember(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const m = this.members[i];
    const p = m.proc;
    if (p === undefined) return;
    if (p.exitCode === null && p.signalCode === null) p.kill(signal);
    await m.exited;
    m.proc = undefined;
  }

  /** Kills member i (SIGKILL), starts it again on its data dir and waits until it serves (waitReady). */
  async restartMember(i: number, readyTimeoutMs?: number): Promise<void> {
    await this.stopMember(i);
    await this.startMember(i, 'existing');
    await this.waitReady(readyTimeoutMs, [this.clientUrl(i)]);
  }

  isRunning(i: number): boolean {
    const p = this.members[i].proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** A client bound to the given members only (no fail-over beyond them), closed with the cluster. */
  client(i: number | number[], requestTimeout = 3000): Client {
    const idx = Array.isArray(i) ? i : [i];
    const c = new Client({ endpoints: idx.map((k) => this.clientUrl(k)), requestTimeout, dialTimeout: 3000, tls: this.o.clientTls });
    this.clients.push(c);
    return c;
  }

  /**
   * Waits until each given endpoint answers a linearizable read (the cluster has a leader) and
   * lists every running member with its client URL (each member publishes its URLs through raft
   * after it starts; the others learn them when they apply that entry).
   */
  async waitReady(timeoutMs = 15_000, endpoints = this.endpoints): Promise<void> {
    for (const ep of endpoints) {
      const i = this.endpoints.indexOf(ep);
      const c = new Client({ endpoints: [ep], dialTimeout: 250, tls: this.o.clientTls });
      try {
        await eventually(`${ep} to serve a linearizable read and list every running member`, timeoutMs, async () => {
          if (i >= 0 && !this.isRunning(i)) throw new Error(`${this.members[i].name} exited:\n${this.members[i].logs.slice(-20).join('\n')}`);
          try {
            await c.get('__ready_probe__', { timeout: 500 });
            const listed = new Set((await c.cluster.memberList({ timeout: 500 })).members.flatMap((m) => m.clientURLs));
            return this.members.every((_, k) => !this.isRunning(k) || listed.has(this.clientUrl(k))) ? true : undefined;
          } catch {
            return undefined;
          }
        });
      } finally {
        await c.close();
      }
    }
  }

  /** Member status by index (undefined if it does not answer). */
  async status(i: number): Promise<{ id: bigint; leader: bigint; term: bigint; appliedIndex: bigint; isLearner: boolean } | undefined> {
    if (!this.isRunning(i)) return undefined;
    const c = new Client({ endpoints: [this.clientUrl(i)], requestTimeout: 1000, dialTimeout: 1000, tls: this.o.clientTls });
    try {
      const s = await c.maintenance.status();
      return { id: s.header!.memberId, leader: s.leader, term: s.raftTerm, appliedIndex: s.raftAppliedIndex, isLearner: s.isLearner };
    } catch {
      return undefined;
    } finally {
      await c.close();
    }
  }

  /** The index of the member every running member agrees leads, waiting up to `budgetMs`. */
  async leader(budgetMs = 30_000, among?: number[]): Promise<number> {
    const idx = (among ?? this.members.map((_, i) => i)).filter((i) => this.isRunning(i));
    return eventually('a leader', budgetMs, async () => {
      const st = await Promise.all(idx.map((i) => this.status(i)));
      if (st.some((s) => s === undefined)) return undefined;
      const leads = new Set(st.map((s) => s!.leader));
      if (leads.size !== 1) return undefined;
      const lead = [...leads][0];
      const k = st.findIndex((s) => s!.id === lead);
      return k >= 0 ? idx[k] : undefined;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(this.members.map((_, i) => this.stopMember(i)));
    await Promise.all(this.members.map((m) => m.proxy?.close()));
    await rm(this.root, { recursive: true, force: true });
  }
}
