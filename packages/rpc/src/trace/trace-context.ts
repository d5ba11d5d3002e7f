// W3C Trace Context (traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>)
// carried in gRPC metadata. The server continues an incoming trace with a new span; calls
// made while handling a request carry it (currentSpan()).
//
// Cost model. A served span is parsed and given its ids only when something reads them (an
// outgoing call, currentSpan(), info.span): a server that never looks costs one small object
// per call. The current span lives in an AsyncLocalStorage only once spans can be read from
// async continuations: after an RpcClient with tracing exists in the process, after the first
// currentSpan() call, or after enableSpanPropagation(). On Node 20 an AsyncLocalStorage that
// has run puts async_hooks on every async resource of the process (streams, write requests,
// timers, promises), a few µs per call (~4 % of a small server's CPU in its own functions); until then the span is
// kept in a variable for the handler's synchronous part, which is all our own interceptors need.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

export const traceparentHeader = 'traceparent';

export interface SpanContext {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  flags: string;
}

const storage = new AsyncLocalStorage<SpanContext>();
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

// Ids are cut from a pool of random hex: 4 KiB of random bytes turned into hex at once (one
// syscall and one conversion per ~170 spans); an id is a slice of that string.
const poolBytes = 4096;
let hexPool = '';
let poolOffset = 0;
const zeroIds: Record<number, string> = { 8: '0'.repeat(16), 16: '0'.repeat(32) };

function randomHex(bytes: 8 | 16): string {
  const chars = bytes * 2;
  for (;;) {
    if (poolOffset + chars > hexPool.length) {
      hexPool = randomBytes(poolBytes).toString('hex');
      poolOffset = 0;
    }
    const s = hexPool.slice(poolOffset, poolOffset + chars);
    poolOffset += chars;
    if (s !== zeroIds[bytes]) return s;
  }
}

export function parseTraceparent(value: string | undefined): { traceId: string; spanId: string; flags: string } | undefined {
  if (!value) return undefined;
  const m = traceparentPattern.exec(value.trim().toLowerCase());
  if (!m || m[1] === zeroIds[16] || m[2] === zeroIds[8]) return undefined;
  return { traceId: m[1], spanId: m[2], flags: m[3] };
}

export function formatTraceparent(span: Pick<SpanContext, 'traceId' | 'spanId' | 'flags'>): string {
  return `00-${span.traceId}-${span.spanId}-${span.flags}`;
}

/** A child of the incoming traceparent, or a new root span. */
export function startSpan(incoming: string | undefined): SpanContext {
  return new ServedSpan(incoming);
}

/**
 * A child of the incoming traceparent (or a new root when it is absent or invalid), parsed
 * and given its ids on first read; the ids never change once read.
 */
class ServedSpan implements SpanContext {
  private trace: string | undefined;
  private span: string | undefined;
  private parent: string | undefined;
  private flagBits = '';
  constructor(private incoming: string | undefined) {}

  private resolve(): void {
    if (this.flagBits !== '') return;
    const parent = parseTraceparent(this.incoming);
    this.incoming = undefined;
    if (parent) {
      this.trace = parent.traceId;
      this.parent = parent.spanId;
      this.flagBits = parent.flags;
    } else {
      this.trace = randomHex(16);
      this.flagBits = '01';
    }
  }
  get traceId(): string {
    this.resolve();
    return this.trace!;
  }
  get spanId(): string {
    return (this.span ??= randomHex(8));
  }
  get parentSpanId(): string | undefined {
    this.resolve();
    return this.parent;
  }
  get flags(): string {
    this.resolve();
    return this.flagBits;
  }
  toJSON(): { traceId: string; spanId: string; parentSpanId: string | undefined; flags: string } {
    return { traceId: this.traceId, spanId: this.spanId, parentSpanId: this.parentSpanId, flags: this.flags };
  }
}

/** formatTraceparent(startSpan(incoming)) without the span object (what an outgoing call sends). */
export function childTraceparent(incoming: string | undefined): string {
  const parent = parseTraceparent(incoming);
  if (parent) return `00-${parent.traceId}-${randomHex(8)}-${parent.flags}`;
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/** The traceparent of a call made while serving span: same trace and flags, a new span id. */
export function childOfSpan(span: SpanContext): string {
  return `00-${span.traceId}-${randomHex(8)}-${span.flags}`;
}

let propagating = false;
/** The span of the handler running synchronously right now (while the ALS is not in use). */
let syncSpan: SpanContext | undefined;

/** From now on the current span follows async continuations (AsyncLocalStorage). Idempotent. */
export function enableSpanPropagation(): void {
  propagating = true;
}

/** Whether spans follow async continuations yet. */
export function spanPropagationEnabled(): boolean {
  return propagating;
}

export function runInSpan<T>(span: SpanContext, fn: () => T): T {
  if (propagating) return storage.run(span, fn);
  const outer = syncSpan;
  syncSpan = span;
  try {
    return fn();
  } finally {
    syncSpan = outer;
  }
}

/** runInSpan(span, () => fn(a, b)) without the closure. */
export function callInSpan<A, B, R>(span: SpanContext, fn: (a: A, b: B) => R, a: A, b: B): R {
  if (propagating) return storage.run(span, fn, a, b);
  const outer = syncSpan;
  syncSpan = span;
  try {
    return fn(a, b);
  } finally {
    syncSpan = outer;
  }
}

/**
 * The span being served. The first call switches propagation on (enableSpanPropagation), so
 * in a process without an RpcClient that first read sees the span only in a handler's
 * synchronous part; call enableSpanPropagation() at start-up to read it after an await.
 */
export function currentSpan(): SpanContext | undefined {
  if (!propagating) {
    propagating = true;
    return syncSpan;
  }
  return storage.getStore() ?? syncSpan;
}
