// Failpoints: named places in the code where a test can make the process misbehave on purpose
// (die abruptly, throw, stall). Configured once from the environment at load time:
//
//   TSETCD_FAILPOINTS="walBeforeSync=exit;backendAfterCommit=2*panic;snapshotBeforeSave=sleep(100)"
//
// When the variable is unset, failpoint() is a single module-level boolean test (no lookups,
// no allocation), so calls can stay in hot paths. See README.md in this folder for the names.

/** What a failpoint does when it triggers. */
export type FailpointAction =
  | { kind: 'exit' } // SIGKILL ourselves: no cleanup, no flush, like a power cut for the process
  | { kind: 'panic' } // throw FailpointPanicError from the call site
  | { kind: 'sleep'; ms: number } // block the thread (the whole event loop) for ms milliseconds
  | { kind: 'off' };

export interface FailpointTerm {
  action: FailpointAction;
  /** Trigger only on this hit (1-based); undefined means every hit. `2*exit` → 2. */
  onHit?: number;
}

export const failpointEnvVar = 'TSETCD_FAILPOINTS';

/** Thrown by a failpoint configured as `panic`. */
export class FailpointPanicError extends Error {
  readonly code = 'FAILPOINT_PANIC';
  constructor(readonly failpointName: string) {
    super(`failpoint ${failpointName}: panic`);
    this.name = 'FailpointPanicError';
  }
}

/** Thrown when TSETCD_FAILPOINTS (or setFailpoints) cannot be parsed. */
export class FailpointSpecError extends Error {
  readonly code = 'FAILPOINT_BAD_SPEC';
  constructor(spec: string, detail: string) {
    super(`bad failpoint spec ${JSON.stringify(spec)}: ${detail}`);
    this.name = 'FailpointSpecError';
  }
}

const sleepMaxMs = 60_000;

function parseAction(spec: string, text: string): FailpointAction {
  if (text === 'exit') return { kind: 'exit' };
  if (text === 'panic') return { kind: 'panic' };
  if (text === 'off') return { kind: 'off' };
  const m = /^sleep\((\d+)\)$/.exec(text);
  if (m) {
    const ms = Number(m[1]);
    if (ms > sleepMaxMs) throw new FailpointSpecError(spec, `sleep longer than ${sleepMaxMs} ms`);
    return { kind: 'sleep', ms };
  }
  throw new FailpointSpecError(spec, `unknown action ${JSON.stringify(text)} (exit, panic, sleep(ms), off)`);
}

/** Parses "a=exit;b=2*panic;c=sleep(10)" into a map. Empty parts are ignored. */
export function parseFailpoints(spec: string): Map<string, FailpointTerm> {
  const out = new Map<string, FailpointTerm>();
  for (const raw of spec.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FailpointSpecError(spec, `expected name=action in ${JSON.stringify(part)}`);
    const name = part.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new FailpointSpecError(spec, `bad name ${JSON.stringify(name)}`);
    let rhs = part.slice(eq + 1).trim();
    let onHit: number | undefined;
    const count = /^(\d+)\*(.*)$/.exec(rhs);
    if (count) {
      onHit = Number(count[1]);
      if (onHit < 1) throw new FailpointSpecError(spec, 'hit count must be >= 1');
      rhs = count[2];
    }
    out.set(name, { action: parseAction(spec, rhs), onHit });
  }
  return out;
}

let terms = new Map<string, FailpointTerm>();
const hits = new Map<string, number>();
let enabled = false;

function install(spec: string | undefined): void {
  terms = spec ? parseFailpoints(spec) : new Map();
  hits.clear();
  enabled = terms.size > 0;
}

install(process.env[failpointEnvVar]);

function sleepBlocking(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function trigger(name: string, term: FailpointTerm): void {
  const action = term.action;
  switch (action.kind) {
    case 'exit':
      process.kill(process.pid, 'SIGKILL');
      // SIGKILL is delivered asynchronously on some platforms; never run past the failpoint.
      sleepBlocking(sleepMaxMs);
      return;
    case 'panic':
      throw new FailpointPanicError(name);
    case 'sleep':
      sleepBlocking(action.ms);
      return;
    case 'off':
      return;
  }
}

/**
 * Marks a failpoint. No-op unless TSETCD_FAILPOINTS (or setFailpoints) names it.
 * May throw FailpointPanicError or never return (exit).
 */
export function failpoint(name: string): void {
  if (!enabled) return;
  const term = terms.get(name);
  if (term === undefined) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (term.onHit !== undefined && term.onHit !== n) return;
  trigger(name, term);
}

/** True when any failpoint is configured (lets callers skip building expensive context). */
export function failpointsEnabled(): boolean {
  return enabled;
}

/** How many times a configured failpoint has been reached (0 for unconfigured ones). */
export function failpointHits(name: string): number {
  return hits.get(name) ?? 0;
}

/** Replaces the configuration at runtime (in-process tests). undefined/'' disables all. */
export function setFailpoints(spec: string | undefined): void {
  install(spec);
}
