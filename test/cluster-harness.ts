// Real multi-member tsetcd clusters for end-to-end tests: ./bin/tsetcd processes on free local
// ports, optional TCP proxies in front of every peer URL (so a test can partition members), and
// cleanup through t.after. Everything a test starts is stopped when it ends.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { Client } from '@tsetcd/client';
import { tsetcdBin } from './tsetcd-process.js';
import { freePort } from './kit/real-etcd.js';
import { eventually } from './kit/wait.js';

export const heartbeatMs = 50;
export const electionMs = 500;
/** how long a member may take to serve clients after its process started */
export const memberStartBudgetMs = 60_000;

export { eventually, freePort };

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A TCP proxy in front of one member's peer listener. It reads the first request bytes of each
 * connection to learn the sending member (rafthttp's X-Server-From header), so a test can cut
 * traffic from chosen members, or all traffic, and heal it later.
 */
export class PeerProxy {
  readonly server: net.Server;
  port = 0;
  private readonly conns = new Set<{ from: string; a: net.Socket; b?: net.Socket }>();
  private blockAll = false;
  private readonly blocked = new Set<string>();

  constructor(readonly targetPort: number) {
    this.server = net.createServer((sock) => this.onConn(sock));
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private allowed(from: string): boolean {
    return !this.blockAll && !this.blocked.has(from);
  }

  private onConn(a: net.Socket): void {
    let head = Buffer.alloc(0);
    a.on('error', () => undefined);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0 && head.length < 16384) return;
      a.off('data', onData);
      a.pause();
      const m = /\r\nx-server-from:\s*([0-9a-f]+)/i.exec(head.subarray(0, end < 0 ? head.length : end).toString('latin1'));
      const from = m ? m[1].toLowerCase() : '';
      if (!this.allowed(from)) {
        a.destroy();
        return;
      }
      const b = net.connect(this.targetPort, '127.0.0.1');
      const c = { from, a, b };
      this.conns.add(c);
      b.on('error', () => a.destroy());
      a.on('close', () => {
        b.destroy();
        this.conns.delete(c);
      });
      b.on('close', () => a.destroy());
      b.write(head);
      a.pipe(b);
      b.pipe(a);
      a.resume();
    };
    a.on('data', onData);
  }

  private enforce(): void {
    for (const c of this.conns) {
      if (!this.allowed(c.from)) {
        c.a.destroy();
        c.b?.destroy();
        this.conns.delete(c);
      }
    }
  }

  /** cut every connection into this member (true) or restore (false) */
  isolate(on: boolean): void {
    this.blockAll = on;
    this.enforce();
  }

  /** cut connections coming from member `fromHex` */
  block(fromHex: string, on: boolean): void {
    if (on) this.blocked.add(fromHex);
    else this.blocked.delete(fromHex);
    this.enforce();
  }

  close(): Promise<void> {
    for (const c of this.conns) {
      c.a.destroy();
      c.b?.destroy();
    }
    this.conns.clear();
    return new Promise((r) => this.server.close(() => r()));
  }
}

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
  logs: string[];
  /** hex member ID, known once it served */
  id?: string;
}

export interface ClusterOptions {
  size?: number;
  /** put a PeerProxy in front of every peer URL */
  proxies?: boolean;
  /** extra tsetcd flags for every member */
  args?: string[];
  token?: string;
  /** the server binary (default ./bin/tsetcd; 'etcd' runs real etcd the same way) */
  bin?: string;
  /** peer URLs over HTTPS: members pass these as --peer-* flags (add --peer-client-cert-auth to args) */
  peerTls?: { certFile: string; keyFile: string; caFile: string };
}

export class TsetcdCluster {
  readonly members: MemberSpec[] = [];
  private readonly clients: Client[] = [];
  private closed = false;

  private constructor(
    readonly root: string,
    readonly o: Required<Omit<ClusterOptions, 'size' | 'peerTls'>> & Pick<ClusterOptions, 'peerTls'>,
  ) {}

  /** Starts `size` members bootstrapping a new cluster and waits until each serves clients. */
  static async start(t: TestContext, opts: ClusterOptions = {}): Promise<TsetcdCluster> {
    const c = await TsetcdCluster.create(t, opts);
    const size = opts.size ?? 3;
    for (let i = 0; i < size; i++) await c.addSpec();
    await Promise.all(c.members.map((_, i) => c.startMember(i, 'new')));
    return c;
  }

  /** A cluster with no member yet (add them with addSpec + startMember). */
  static async create(t: TestContext, opts: ClusterOptions = {}): Promise<TsetcdCluster> {
    const root = await mkdtemp(join(tmpdir(), 'tsetcd-cluster-'));
    const c = new TsetcdCluster(root, { proxies: opts.proxies ?? false, args: opts.args ?? [], token: opts.token ?? `tok-${process.pid}-${Date.now()}`, bin: opts.bin ?? tsetcdBin, peerTls: opts.peerTls });
    t.after(() => c.close());
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
    const m: MemberSpec = { name, clientPort, peerPort, advertisedPeerPort: peerPort, dataDir: join(this.root, name), logs: [] };
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
    return `http://127.0.0.1:${this.members[i].clientPort}`;
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
    if (this.o.bin !== tsetcdBin) args.push('--logger', 'zap');
    const proc = spawn(this.o.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    m.proc = proc;
    m.exited = new Promise((r) => proc.on('exit', () => r()));
    let ready!: () => void;
    let failed!: (e: Error) => void;
    const readyP = new Promise<void>((res, rej) => {
      ready = res;
      failed = rej;
    });
    let buf = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      buf += d;
      let k: number;
      while ((k = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, k);
        buf = buf.slice(k + 1);
        m.logs.push(line);
        if (m.logs.length > 400) m.logs.shift();
        if (line.includes('"serving client traffic')) ready();
      }
    });
    proc.on('exit', (code, sig) => failed(new Error(`${m.name} exited (${code ?? sig}) before serving:\n${m.logs.slice(-30).join('\n')}`)));
    const timer = setTimeout(() => failed(new Error(`${m.name} did not serve within ${memberStartBudgetMs}ms:\n${m.logs.slice(-30).join('\n')}`)), memberStartBudgetMs);
    try {
      await readyP;
    } finally {
      clearTimeout(timer);
    }
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

  isRunning(i: number): boolean {
    const p = this.members[i].proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** A client bound to one member only (no fail-over), closed with the cluster. */
  client(i: number | number[], requestTimeout = 3000): Client {
    const idx = Array.isArray(i) ? i : [i];
    const c = new Client({ endpoints: idx.map((k) => this.clientUrl(k)), requestTimeout, dialTimeout: 3000 });
    this.clients.push(c);
    return c;
  }

  /** Member status by index (undefined if it does not answer). */
  async status(i: number): Promise<{ id: bigint; leader: bigint; term: bigint; appliedIndex: bigint; isLearner: boolean } | undefined> {
    if (!this.isRunning(i)) return undefined;
    const c = new Client({ endpoints: [this.clientUrl(i)], requestTimeout: 1000, dialTimeout: 1000 });
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
