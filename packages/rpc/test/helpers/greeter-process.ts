// Runs examples/greeter/server.ts as a child process (a real separate server) and waits
// for its READY line; kill -9 / SIGTERM / restart for failure tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { freePort } from './etcd.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
export const greeterDir = join(root, 'examples/greeter');

export interface GreeterProcess {
  address: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export interface GreeterEnv {
  etcd: string;
  key: string;
  port?: number;
  delayMs?: number;
  fail?: boolean;
  leaseTtlSec?: number;
}

export async function startGreeter(env: GreeterEnv): Promise<GreeterProcess> {
  const port = env.port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', join(greeterDir, 'server.ts'), '-f', join(greeterDir, 'hello.yaml')], {
    cwd: root,
    env: {
      ...process.env,
      ETCD_HOSTS: env.etcd,
      ETCD_KEY: env.key,
      LISTEN_ON: `127.0.0.1:${port}`,
      GREETER_DELAY_MS: String(env.delayMs ?? 0),
      GREETER_FAIL: env.fail ? '1' : '0',
      RPC_LOG_LEVEL: 'warn',
      ...(env.leaseTtlSec ? { LEASE_TTL_SEC: String(env.leaseTtlSec) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`greeter did not start:\n${out}`)), 45_000);
    const onData = () => {
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`greeter exited early:\n${out}`));
    });
  });
  return { address, child, output: () => out, exited };
}

export async function killGreeter(p: GreeterProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  await p.exited;
}
