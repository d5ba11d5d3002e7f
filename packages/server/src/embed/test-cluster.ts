// An in-process cluster for an application's own tests, like etcd's Go `integration` package:
//   const cluster = await startCluster({ members: 3 });
//   const client = await cluster.client();          // @tsetcd/client over every member
//   ... cluster.endpoints for any other etcd client (etcd3, ...)
//   await cluster.kill(0); await cluster.restart(0); cluster.partition(1); cluster.heal(1);
//   await cluster.close();                           // stops everything, removes the data dirs
// Members run in this process on free 127.0.0.1 ports (kept across restarts), each in its own
// temporary data dir, with --unsafe-no-fsync unless asked otherwise.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, ClientOptions } from '@tsetcd/client';
import { startServer, type Member, type StartServerOptions } from './index.js';

export interface TestClusterOptions {
  /** number of voting members (default 1) */
  members?: number;
  /** skip fsync in WAL and backend (default true: the data is thrown away anyway) */
  unsafeNoFsync?: boolean;
  /** raft timing (defaults 50 ms / 500 ms: elections settle fast on a test machine) */
  heartbeatIntervalMs?: number;
  electionTimeoutMs?: number;
  /** parent of the members' temporary data dirs (default the OS temp dir) */
  baseDir?: string;
  /** further options for every member (ports, names and data dirs are the cluster's) */
  memberOptions?: Omit<StartServerOptions, 'name' | 'dataDir' | 'listenClientUrls' | 'advertiseClientUrls' | 'listenPeerUrls' | 'initialAdvertisePeerUrls' | 'initialCluster' | 'initialClusterState'>;
}

export interface TestCluster {
  /** client URLs, member i at index i (stable across kill/restart) */
  readonly endpoints: string[];
  /** the running member at index i, or undefined while it is killed */
  member(i: number): Member | undefined;
  /** index of the leader among running, connected members (waits up to `timeoutMs` for one) */
  leader(timeoutMs?: number): Promise<number>;
  /** stops member i (its data dir stays for restart) */
  kill(i: number): Promise<void>;
  /** starts member i again from its data dir, on the same ports; resolves once it serves */
  restart(i: number): Promise<void>;
  /** cuts member i's peer traffic both ways; its client port stays open */
  partition(i: number): void;
  /** restores member i's peer traffic (every member's without an index) */
  heal(i?: number): void;
  /** a @tsetcd/client over all members (closed by close()); needs the @tsetcd/client package */
  client(options?: Partial<ClientOptions>): Promise<Client>;
  /** stops every member and client, removes the data dirs */
  close(): Promise<void>;
}

/** Reserves n distinct free ports on 127.0.0.1 (held together, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function startCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const size = opts.members ?? 1;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`startCluster: members must be a positive integer, got ${size}`);
  const base = await mkdtemp(join(opts.baseDir ?? tmpdir(), 'tsetcd-cluster-'));
  const ports = await freePorts(2 * size);
  const names = Array.from({ length: size }, (_, i) => `m${i}`);
  const clientUrls = names.map((_, i) => `http://127.0.0.1:${ports[2 * i]}`);
  const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[2 * i + 1]}`);
  const initialCluster = names.map((n, i) => `${n}=${peerUrls[i]}`).join(',');
  const token = `test-cluster-${process.pid}-${ports[0]}`;
  const members: (Member | undefined)[] = new Array(size).fill(undefined);
  const isolated = new Set<number>();
  const clients: Client[] = [];
  let closed = false;

  const check = (i: number): void => {
    if (closed) throw new Error('test cluster: closed');
    if (!Number.isInteger(i) || i < 0 || i >= size) throw new RangeError(`test cluster: no member ${i} (members 0..${size - 1})`);
  };

  const start = async (i: number, state: 'new' | 'existing'): Promise<Member> => {
    const m = await startServer({
      ...opts.memberOptions,
      name: names[i],
      dataDir: join(base, names[i]),
      listenClientUrls: [clientUrls[i]],
      advertiseClientUrls: [clientUrls[i]],
      listenPeerUrls: [peerUrls[i]],
      initialAdvertisePeerUrls: [peerUrls[i]],
      initialCluster,
      initialClusterState: state,
      initialClusterToken: token,
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 50,
      electionTimeoutMs: opts.electionTimeoutMs ?? 500,
      unsafeNoFsync: opts.unsafeNoFsync ?? true,
    });
    members[i] = m;
    if (isolated.has(i)) m.isolate(true);
    return m;
  };

  const stopAll = async (): Promise<void> => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(members.map((m, i) => m?.close().finally(() => (members[i] = undefined))));
  };

  try {
    const started = await Promise.all(names.map((_, i) => start(i, 'new')));
    await Promise.all(started.map((m) => m.ready));
  } catch (e) {
    await stopAll();
    await rm(base, { recursive: true, force: true });
    throw e;
  }

  const cluster: TestCluster = {
    endpoints: clientUrls,
    member: (i) => {
      check(i);
      return members[i];
    },
    async leader(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (closed) throw new Error('test cluster: closed');
        const i = members.findIndex((m, idx) => m !== undefined && !isolated.has(idx) && m.server.isLeader());
        if (i >= 0) return i;
        if (Date.now() > deadline) throw new Error(`test cluster: no leader among the running, connected members within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async kill(i) {
      check(i);
      const m = members[i];
      if (m === undefined) throw new Error(`test cluster: member ${i} is not running`);
      members[i] = undefined;
      await m.close();
    },
    async restart(i) {
      check(i);
      if (members[i] !== undefined) throw new Error(`test cluster: member ${i} is running (kill it first)`);
      const m = await start(i, 'existing');
      await m.ready;
    },
    partition(i) {
      check(i);
      isolated.add(i);
      members[i]?.isolate(true);
    },
    heal(i) {
      if (closed) throw new Error('test cluster: closed');
      const which = i === undefined ? [...isolated] : (check(i), [i]);
      for (const idx of which) {
        isolated.delete(idx);
        members[idx]?.isolate(false);
      }
    },
    async client(options = {}) {
      check(0);
      let mod: typeof import('@tsetcd/client');
      try {
        mod = await import('@tsetcd/client');
      } catch (e) {
        throw new Error(`test cluster: client() needs the @tsetcd/client package (npm install -D @tsetcd/client), or pass cluster.endpoints to your own client: ${(e as Error).message}`);
      }
      const c = new mod.Client({ endpoints: clientUrls, ...options });
      clients.push(c);
      return c;
    },
    async close() {
      if (closed) return;
      closed = true;
      await stopAll();
      await rm(base, { recursive: true, force: true });
    },
  };
  return cluster;
}
