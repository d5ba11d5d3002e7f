// Running the command-line tools in tests: an environment without the caller's ETCD_/ETCDCTL_
// settings, and a run that collects stdout, stderr and the exit code (bounded by a timeout).

import { isUtf8 } from 'node:buffer';
import { spawn } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface RunOptions {
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** The process environment without ETCD_* and ETCDCTL_* (ETCDCTL_API=3), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_') && !k.startsWith('ETCD_')) env[k] = v;
  return { ...env, ETCDCTL_API: '3', ...extra };
}

/**
 * An output as text, byte for byte: UTF-8 text as such (etcdctl prints durations as `µs`), any
 * other bytes (`-w protobuf`, binary values) as latin1 behind a marker, so that two outputs
 * compare equal exactly when their bytes do.
 */
export function decodeOutput(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : `<not UTF-8> ${bytes.toString('latin1')}`;
}

/** Runs `bin` to its end (SIGKILL after the timeout, 20 s by default). */
export function run(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: decodeOutput(Buffer.concat(out)), stderr: decodeOutput(Buffer.concat(err)), code });
    });
    child.stdin.on('error', () => undefined); // the command may exit before reading stdin
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Calls fn with each complete line (utf8, without its newline) a child's output stream writes. */
export function onLines(stream: NodeJS.ReadableStream, fn: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let k: number;
    while ((k = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, k);
      buf = buf.slice(k + 1);
      fn(line);
    }
  });
}
