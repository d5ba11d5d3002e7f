// One run of a command: global flags (+ ETCDCTL_* environment), the display printer and the
// connections it opens (closed when the command ends).

import type { FlagSpec, FlagValue } from './flag-set.js';
import { formatGoDuration } from '@tsetcd/common';
import { Connection, grpcErrorText, type ConnectionConfig } from './connection.js';
import { CtlExit, ExitCode } from './errors.js';
import type { RunContext } from './command.js';
import { newPrinter, type Printer } from './printers/index.js';

export const globalFlagSpecs: FlagSpec[] = [
  { name: 'endpoints', kind: 'stringSlice', def: '[127.0.0.1:2379]', usage: 'gRPC endpoints' },
  { name: 'debug', kind: 'bool', def: 'false', usage: 'enable client-side debug logging' },
  { name: 'write-out', short: 'w', kind: 'string', def: 'simple', usage: 'set the output format (fields, json, protobuf, simple, table)' },
  { name: 'hex', kind: 'bool', def: 'false', usage: 'print byte strings as hex encoded strings' },
  { name: 'dial-timeout', kind: 'duration', def: '2s', usage: 'dial timeout for client connections' },
  { name: 'command-timeout', kind: 'duration', def: '5s', usage: 'timeout for short running command (excluding dial timeout)' },
  { name: 'keepalive-time', kind: 'duration', def: '2s', usage: 'keepalive time for client connections' },
  { name: 'keepalive-timeout', kind: 'duration', def: '6s', usage: 'keepalive timeout for client connections' },
  { name: 'insecure-transport', kind: 'bool', def: 'true', usage: 'disable transport security for client connections' },
  { name: 'insecure-discovery', kind: 'bool', def: 'true', usage: 'accept insecure SRV records describing cluster endpoints' },
  { name: 'insecure-skip-tls-verify', kind: 'bool', def: 'false', usage: 'skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)' },
  { name: 'cert', kind: 'string', def: '', usage: 'identify secure client using this TLS certificate file' },
  { name: 'key', kind: 'string', def: '', usage: 'identify secure client using this TLS key file' },
  { name: 'cacert', kind: 'string', def: '', usage: 'verify certificates of TLS-enabled secure servers using this CA bundle' },
  { name: 'user', kind: 'string', def: '', usage: 'username[:password] for authentication (prompt if password is not supplied)' },
  { name: 'password', kind: 'string', def: '', usage: "password for authentication (if this option is used, --user option shouldn't include password)" },
  { name: 'discovery-srv', short: 'd', kind: 'string', def: '', usage: 'domain name to query for SRV records describing cluster endpoints' },
  { name: 'discovery-srv-name', kind: 'string', def: '', usage: 'service name to query when using DNS discovery' },
];

const envPrefix = 'ETCDCTL';

export function flagToEnv(name: string): string {
  return `${envPrefix}_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** capnslog's line prefix: `2006-01-02 15:04:05.000000 W | `. */
export function capnslogPrefix(level: string, now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const micros = p(now.getMilliseconds(), 3) + '000';
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}.${micros} ${level} | `;
}

/** A flag's value as pflag's Value.String() prints it. */
function flagValueText(spec: FlagSpec, v: FlagValue): string {
  if (spec.kind === 'stringSlice') return `[${(v as string[]).join(',')}]`;
  if (spec.kind === 'duration') return formatGoDuration(v as bigint);
  return String(v);
}

export class Session {
  private envApplied = false;
  private displayPrinter: Printer | undefined;
  private readonly conns: Connection[] = [];
  private stdinText: string | undefined;

  constructor(readonly ctx: RunContext) {}

  get flags() {
    return this.ctx.flags;
  }
  get out() {
    return this.ctx.out;
  }

  /** pkg/flags.SetPflagsFromEnv over the command's inherited flags. */
  applyEnv(extraKnown: string[] = []): void {
    if (this.envApplied) return;
    this.envApplied = true;
    const inherited = this.ctx.cmd.inheritedFlags();
    const used = new Set<string>();
    const alreadySet = new Set<string>();
    for (const f of inherited) {
      const key = flagToEnv(f.name);
      if (this.flags.isChanged(f.name)) {
        alreadySet.add(key);
        continue;
      }
      const val = this.ctx.io.env[key];
      if (val !== undefined && val !== '') {
        used.add(key);
        try {
          this.flags.set(f.name, val);
        } catch {
          // etcdctl ignores the error of SetPflagsFromEnv
        }
      }
    }
    for (const k of extraKnown) used.add(k);
    if (this.flags.getBool('debug')) {
      // --debug lists the effective global flags as environment variables (pflag VisitAll order).
      const sorted = [...inherited].sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const f of sorted) this.out.stderr(`${flagToEnv(f.name)}=${flagValueText(f, this.flags.get(f.name))}\n`);
    }
    for (const [k, v] of Object.entries(this.ctx.io.env)) {
      if (used.has(k) || k === 'ETCDCTL_API') continue;
      if (alreadySet.has(k)) {
        this.out.stderr(
          capnslogPrefix('C') + `pkg/flags: conflicting environment variable ${JSON.stringify(k)} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)\n`,
        );
        throw new CtlExit(ExitCode.Error, '');
      }
      if (k.startsWith(envPrefix + '_')) this.out.stderr(capnslogPrefix('W') + `pkg/flags: unrecognized environment variable ${k}=${v}\n`);
    }
  }

  /** initDisplayFromCmd. */
  get display(): Printer {
    if (!this.displayPrinter) {
      const p = newPrinter(this.flags.getString('write-out'), this.flags.getBool('hex'), this.out);
      if (!p) throw new CtlExit(ExitCode.BadFeature, 'unsupported output format');
      this.displayPrinter = p;
    }
    return this.displayPrinter;
  }

  commandTimeoutMs(): number {
    return Number(this.flags.getInt('command-timeout') / 1000000n);
  }

  endpoints(): string[] {
    return this.flags.getStrings('endpoints').map((e) => e.trim());
  }

  /** clientConfigFromCmd: env, display, TLS/auth settings. */
  async clientConfig(extraEnv: string[] = [], withAuth = true): Promise<ConnectionConfig> {
    this.applyEnv(extraEnv);
    void this.display;
    const f = this.flags;
    for (const name of ['cert', 'key', 'cacert']) {
      if (f.isChanged(name) && f.getString(name) === '') throw new CtlExit(ExitCode.BadArgs, `empty string is passed to --${name} option`);
    }
    const ms = (name: string) => Number(f.getInt(name) / 1000000n);
    const cfg: ConnectionConfig = {
      endpoints: this.endpoints(),
      dialTimeoutMs: ms('dial-timeout'),
      commandTimeoutMs: ms('command-timeout'),
      keepAliveTimeMs: ms('keepalive-time'),
      keepAliveTimeoutMs: ms('keepalive-timeout'),
      insecureTransport: f.getBool('insecure-transport'),
      insecureSkipVerify: f.getBool('insecure-skip-tls-verify'),
      cert: f.getString('cert') || undefined,
      key: f.getString('key') || undefined,
      cacert: f.getString('cacert') || undefined,
    };
    const user = f.getString('user');
    if (withAuth && user !== '') {
      const password = f.getString('password');
      if (password !== '') cfg.user = { name: user, password };
      else {
        const i = user.indexOf(':');
        if (i >= 0) cfg.user = { name: user.slice(0, i), password: user.slice(i + 1) };
        else {
          // speakeasy.Ask: prompt on stdout, stty (echo off/on) complaining without a terminal.
          this.out.stdout('Password: ');
          if (!this.ctx.io.stdinIsTty) this.out.stderr("stty: 'standard input': Inappropriate ioctl for device\n".repeat(2));
          this.out.stdout('\n');
          cfg.user = { name: user, password: (await this.readStdin()).split('\n')[0] };
        }
      }
    }
    return cfg;
  }

  /** mustClientFromCmd: a connection to the endpoints (failing over between them). */
  async client(extraEnv: string[] = []): Promise<Connection> {
    const cfg = await this.clientConfig(extraEnv);
    const c = new Connection(cfg, cfg.endpoints.length > 0 ? cfg.endpoints : ['127.0.0.1:2379']);
    this.conns.push(c);
    await this.authenticate(c);
    return c;
  }

  /** A connection to one given endpoint with the same settings. */
  async clientFor(ep: string, cfg?: ConnectionConfig): Promise<Connection> {
    const c = new Connection(cfg ?? (await this.clientConfig()), ep);
    this.conns.push(c);
    await this.authenticate(c);
    return c;
  }

  /** clientv3.New authenticates up front: bad credentials end the command with exit code 2. */
  private async authenticate(c: Connection): Promise<void> {
    const user = c.cfg.user;
    if (!user) return;
    try {
      await c.call(c.raw.auth.authenticate, { name: user.name, password: user.password }, c.cfg.dialTimeoutMs + c.cfg.commandTimeoutMs);
    } catch (e) {
      throw new CtlExit(ExitCode.BadConnection, grpcErrorText(e));
    }
  }

  async readStdin(): Promise<string> {
    if (this.stdinText === undefined) {
      this.stdinText = await this.ctx.io.readStdin();
    }
    return this.stdinText;
  }

  async close(): Promise<void> {
    const conns = this.conns.splice(0);
    await Promise.all(conns.map((c) => c.close()));
  }
}
