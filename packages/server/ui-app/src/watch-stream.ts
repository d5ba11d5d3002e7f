// A watch over the gateway's /v3/watch stream that survives reconnects without a gap: it
// remembers the next revision it has not seen (the last event's mod revision + 1, or a
// progress notification's revision + 1) and starts the new stream there.

import { ApiError, needsLogin, stream, type Header, type KeyValue } from './api.js';
import { b64, type Bytes } from './bytes.js';

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
  prev_kv?: KeyValue;
}

export type WatchState = 'connecting' | 'watching' | 'reconnecting' | 'stopped';

export interface WatchOptions {
  key: Bytes;
  rangeEnd?: Bytes;
  /** first revision to deliver (0n: from now) */
  startRevision?: bigint;
  prevKv?: boolean;
  onEvents(events: WatchEvent[]): void;
  onState(state: WatchState, detail?: string): void;
}

export class Watch {
  /** the next revision this watch has not delivered yet (0n until the first stream is created) */
  nextRev: bigint;
  private stopped = false;
  private abort = new AbortController();

  constructor(private readonly o: WatchOptions) {
    this.nextRev = o.startRevision ?? 0n;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.o.onState('stopped');
  }

  private async run(): Promise<void> {
    let backoff = 250;
    let first = true;
    while (!this.stopped) {
      this.abort = new AbortController();
      this.o.onState(first ? 'connecting' : 'reconnecting');
      first = false;
      let why = 'the stream ended';
      try {
        await stream(
          '/v3/watch',
          {
            create_request: {
              key: b64(this.o.key),
              range_end: this.o.rangeEnd === undefined ? undefined : b64(this.o.rangeEnd),
              start_revision: this.nextRev > 0n ? this.nextRev.toString() : undefined,
              prev_kv: this.o.prevKv || undefined,
              progress_notify: true,
            },
          },
          (r) => this.onResult(r, () => (backoff = 250)),
          this.abort.signal,
        );
      } catch (e) {
        why = (e as Error).message;
        if (needsLogin(e) || (e instanceof ApiError && (e.code === 7 || why.includes('compacted')))) {
          this.stopped = true;
          this.o.onState('stopped', why);
          return;
        }
      }
      if (this.stopped) return;
      this.o.onState('reconnecting', why);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5000);
    }
  }

  private onResult(r: Record<string, unknown>, connected: () => void): void {
    const header = (r.header ?? {}) as Header;
    const rev = BigInt(header.revision ?? '0');
    if (r.canceled) {
      const compact = r.compact_revision as string | undefined;
      throw new ApiError(compact ? `mvcc: required revision has been compacted (compacted at ${compact})` : String(r.cancel_reason ?? 'watch canceled'), 11, 200);
    }
    if (r.created) {
      connected();
      if (this.nextRev === 0n) this.nextRev = rev + 1n;
      this.o.onState('watching');
      return;
    }
    const events = ((r.events ?? []) as Array<{ type?: string; kv?: KeyValue; prev_kv?: KeyValue }>).map((e) => ({
      type: e.type === 'DELETE' ? ('DELETE' as const) : ('PUT' as const),
      kv: e.kv ?? {},
      prev_kv: e.prev_kv,
    }));
    if (events.length === 0) {
      // a progress notification: everything up to its revision has been delivered
      if (rev + 1n > this.nextRev) this.nextRev = rev + 1n;
      return;
    }
    this.nextRev = BigInt(events[events.length - 1].kv.mod_revision ?? '0') + 1n;
    this.o.onEvents(events);
  }
}
