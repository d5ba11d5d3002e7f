// Test harness for golden tests: two real etcd 3.4 servers started identically (same name,
// advertised URLs and cluster token, hence the same cluster and member IDs), one driven by the
// real etcdctl and one by tsetcdctl. Running the same command sequence on both gives the same
// server state, so outputs can be compared byte for byte (lease IDs and timings aside). The
// processes are started and run through test/kit.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { BufferOutput, runCtl } from '../src/index.js';
import { cleanEnv, decodeOutput, run as runProcess, type RunOptions as KitRunOptions, type RunResult } from '../../../test/kit/processes.js';
import { freePort, startRealEtcd, type RealEtcd } from '../../../test/kit/real-etcd.js';
import { waitFor } from '../../../test/kit/wait.js';

export const tsetcdctlBin = fileURLToPath(new URL('../../../bin/tsetcdctl', import.meta.url));

export { decodeOutput, freePort, type RunResult };

export interface RunOptions extends KitRunOptions {
  /** Run tsetcdctl as a process (./bin/tsetcdctl) instead of in this process. */
  viaBin?: boolean;
}

/** Runs tsetcdctl's runCtl in this process (same code as the binary, without node's startup). */
export async function runInProcess(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const out = new BufferOutput();
  const code = await runCtl(args, out, { env: cleanEnv(opts.env), readStdin: async () => opts.stdin ?? '' });
  return { stdout: decodeOutput(out.stdoutBytes), stderr: out.stderrText, code };
}

export function run(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runProcess(bin, args, opts);
}

export class EtcdServer {
  private etcd: RealEtcd | undefined;
  readonly dataDir: string;
  clientPort = 0;
  private peerPort = 0;

  constructor(
    readonly label: string,
    private readonly extraArgs: string[] = [],
  ) {
    this.dataDir = mkdtempSync(join(tmpdir(), `tsetcdctl-${label}-`));
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  /** Starts etcd; `existing` reuses a data dir (e.g. one written by `snapshot restore`). */
  async start(existing?: { dataDir: string; name: string; peerUrl: string; cluster: string; token: string }): Promise<void> {
    if (this.clientPort === 0) {
      this.clientPort = await freePort();
      this.peerPort = await freePort();
    }
    // Advertised URLs are fixed (not the real ports) so that both twins get identical IDs.
    this.etcd = await startRealEtcd({
      dir: this.dataDir,
      dataDir: existing?.dataDir,
      clientPort: this.clientPort,
      peerPort: this.peerPort,
      name: existing?.name ?? 'twin',
      advertiseClientUrl: 'http://127.0.0.1:2379',
      initialAdvertisePeerUrl: existing?.peerUrl ?? 'http://127.0.0.1:2380',
      initialCluster: existing?.cluster ?? 'twin=http://127.0.0.1:2380',
      initialClusterToken: existing?.token ?? 'tsetcdctl-golden',
      args: this.extraArgs,
    });
  }

  /** Backend commits so far (etcd's etcd_disk_backend_commit_duration_seconds_count). */
  async backendCommits(): Promise<number> {
    const text = await (await fetch(`http://${this.endpoint}/metrics`)).text();
    const m = /^etcd_disk_backend_commit_duration_seconds_count (\d+)$/m.exec(text);
    if (m === null) throw new Error(`etcd ${this.label}: no backend commit counter in /metrics`);
    return Number(m[1]);
  }

  /**
   * Resolves once the backend commit counter passed `count` (read before a write: the write is
   * then in the file, as etcd commits only when writes are pending).
   */
  async commitAfter(count: number, timeoutMs = 20000): Promise<void> {
    await waitFor(`etcd ${this.label}: a backend commit`, async () => (await this.backendCommits()) > count, timeoutMs);
  }

  /** Kills etcd (keeping its data dir). */
  async kill(): Promise<void> {
    await this.etcd?.kill();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export type Side = 'real' | 'ours';

export interface Twins {
  real: EtcdServer;
  ours: EtcdServer;
  /** Runs etcdctl on the real twin and tsetcdctl on ours (concurrently); args may depend on the side. */
  both(args: string[] | ((side: Side) => string[]), opts?: RunOptions | ((side: Side) => RunOptions)): Promise<{ real: RunResult; ours: RunResult }>;
}

export async function startTwins(t: TestContext, etcdArgs: string[] = []): Promise<Twins> {
  const real = new EtcdServer('real', etcdArgs);
  const ours = new EtcdServer('ours', etcdArgs);
  t.after(async () => {
    await Promise.all([real.stop(), ours.stop()]);
  });
  await Promise.all([real.start(), ours.start()]);
  return {
    real,
    ours,
    async both(args, opts) {
      const argsOf = (s: Side) => (typeof args === 'function' ? args(s) : args);
      const optsOf = (s: Side) => (typeof opts === 'function' ? opts(s) : (opts ?? {}));
      const [r, o] = await Promise.all([
        run('etcdctl', ['--endpoints', real.endpoint, ...argsOf('real')], optsOf('real')),
        optsOf('ours').viaBin
          ? run(tsetcdctlBin, ['--endpoints', ours.endpoint, ...argsOf('ours')], optsOf('ours'))
          : runInProcess(['--endpoints', ours.endpoint, ...argsOf('ours')], optsOf('ours')),
      ]);
      return { real: normalize(r, real.endpoint), ours: normalize(o, ours.endpoint) };
    },
  };
}

/** Removes what legitimately differs: endpoints, zap/capnslog log lines and timestamps, durations. */
export function normalize(r: RunResult, endpoint: string): RunResult {
  const fix = (s: string) =>
    s
      .split(endpoint).join('<EP>')
      .split('\n')
      .filter((l) => !l.startsWith('{"level":'))
      .join('\n')
      .replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} /gm, '<TS> ')
      // Go durations (time.Duration.String: 911.909µs, 1.5s, 1m2.003s); whole seconds are TTLs, kept
      .replace(/(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|ms|s)\b/g, (m) => (/^\d+s$/.test(m) ? m : '<DUR>'))
      .replace(/"took":"[^"]*"/g, '"took":"<DUR>"');
  return { stdout: fix(r.stdout), stderr: fix(r.stderr), code: r.code };
}
