// W3C Trace Context (traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>)
// carried in gRPC metadata. The server continues an incoming trace with a new span; the
// current span lives in AsyncLocalStorage so calls made while handling a request carry it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';

export const traceparentHeader = 'traceparent';

export interface SpanContext {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  flags: string;
}

const storage = new AsyncLocalStorage<SpanContext>();
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

// Ids come from a pool of random bytes refilled 4 KiB at a time (one syscall per ~170 spans).
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
const zeroIds: Record<number, string> = { 8: '0'.repeat(16), 16: '0'.repeat(32) };

function randomHex(bytes: 8 | 16): string {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const s = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
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
  const parent = parseTraceparent(incoming);
  if (parent) return { traceId: parent.traceId, spanId: randomHex(8), parentSpanId: parent.spanId, flags: parent.flags };
  return { traceId: randomHex(16), spanId: randomHex(8), parentSpanId: undefined, flags: '01' };
}

/** formatTraceparent(startSpan(incoming)) without the span object (what an outgoing call sends). */
export function childTraceparent(incoming: string | undefined): string {
  const parent = parseTraceparent(incoming);
  if (parent) return `00-${parent.traceId}-${randomHex(8)}-${parent.flags}`;
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

export function runInSpan<T>(span: SpanContext, fn: () => T): T {
  return storage.run(span, fn);
}

export function currentSpan(): SpanContext | undefined {
  return storage.getStore();
}
