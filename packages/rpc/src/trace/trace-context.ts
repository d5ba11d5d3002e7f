// W3C Trace Context (traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>)
// carried in gRPC metadata. The server continues an incoming trace with a new span; the
// current span lives in AsyncLocalStorage so calls made while handling a request carry it.
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

function randomHex(bytes: number): string {
  for (;;) {
    const s = randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(s)) return s;
  }
}

export function parseTraceparent(value: string | undefined): { traceId: string; spanId: string; flags: string } | undefined {
  if (!value) return undefined;
  const m = traceparentPattern.exec(value.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return undefined;
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

export function runInSpan<T>(span: SpanContext, fn: () => T): T {
  return storage.run(span, fn);
}

export function currentSpan(): SpanContext | undefined {
  return storage.getStore();
}
