// Leader election with the same keys and algorithm as clientv3/concurrency's Election: each
// candidate puts `<prefix>/<lease id in hex>` = value under its session lease; the oldest key
// (lowest create revision) is the leader; the others wait for the deletion of their predecessor.
import { CanceledError, ElectionNoLeaderError, ElectionNotLeaderError } from '../errors.js';
import type { GetResult, KeyValue, ResponseHeader } from '../kv.js';
import { compare, op } from '../txn.js';
import type { Watcher } from '../watch.js';
import type { Session } from './session.js';
import { isAborted, waitDeletes } from './wait-deletes.js';

export class Election {
  private readonly pfx: string;
  private leaderKey = '';
  private leaderRev = 0n;
  private leaderSession: Session | undefined;
  private hdr: ResponseHeader | undefined;

  constructor(
    readonly session: Session,
    prefix: string,
  ) {
    this.pfx = `${prefix}/`;
  }

  /** Becomes a candidate with `value` and resolves once this session is the leader. */
  async campaign(value: string | Buffer, opts?: { signal?: AbortSignal }): Promise<void> {
    const s = this.session;
    const client = s.client;
    const k = `${this.pfx}${s.lease.toString(16)}`;
    if (isAborted(opts?.signal)) throw new CanceledError('context canceled');
    // Not cancelled in flight (see Mutex.lock): an abort during the put is seen by waitDeletes.
    const r = await client
      .txn()
      .if(compare.createRevision(k, '=', 0))
      .then(op.put(k, value, { lease: s.lease }))
      .else(op.get(k))
      .commit();
    this.leaderKey = k;
    this.leaderRev = r.header.revision;
    this.leaderSession = s;
    if (!r.succeeded) {
      const kv = (r.results[0] as GetResult).kvs[0];
      this.leaderRev = kv.createRevision;
      if (!kv.value.equals(Buffer.from(value))) {
        try {
          await this.proclaim(value);
        } catch (err) {
          await this.resign().catch(() => undefined);
          throw err;
        }
      }
    }
    try {
      await waitDeletes(client, this.pfx, this.leaderRev - 1n, opts?.signal);
    } catch (err) {
      if (isAborted(opts?.signal)) await this.resign().catch(() => undefined);
      else this.leaderSession = undefined;
      throw err;
    }
    this.hdr = r.header;
  }

  /** Lets the leader publish a new value without a new election. */
  async proclaim(value: string | Buffer): Promise<void> {
    if (this.leaderSession === undefined) throw new ElectionNotLeaderError();
    const r = await this.session.client
      .txn()
      .if(compare.createRevision(this.leaderKey, '=', this.leaderRev))
      .then(op.put(this.leaderKey, value, { lease: this.leaderSession.lease }))
      .commit();
    if (!r.succeeded) {
      this.leaderKey = '';
      throw new ElectionNotLeaderError();
    }
    this.hdr = r.header;
  }

  /** Gives up leadership (or candidacy); a no-op when not campaigning. */
  async resign(): Promise<void> {
    if (this.leaderSession === undefined) return;
    try {
      const r = await this.session.client
        .txn()
        .if(compare.createRevision(this.leaderKey, '=', this.leaderRev))
        .then(op.delete(this.leaderKey))
        .commit();
      this.hdr = r.header;
    } finally {
      this.leaderKey = '';
      this.leaderSession = undefined;
    }
  }

  /** The current leader's key-value; ElectionNoLeaderError when nobody leads. */
  async leader(): Promise<GetResult> {
    const r = await this.session.client.get(this.pfx, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 });
    if (r.kvs.length === 0) throw new ElectionNoLeaderError();
    return r;
  }

  /** Every leader value, in order: the current one first, then each proclamation and successor. */
  observe(): ElectionObserver {
    return new ElectionObserver(this.session, this.pfx);
  }

  get key(): string {
    return this.leaderKey;
  }
  get rev(): bigint {
    return this.leaderRev;
  }
  get header(): ResponseHeader | undefined {
    return this.hdr;
  }
}

/** Async iterable of leader values (as GetResult with one kv); stop() ends it. */
export class ElectionObserver implements AsyncIterable<GetResult> {
  private readonly abort = new AbortController();
  private watcher: Watcher | undefined;

  constructor(
    private readonly session: Session,
    private readonly pfx: string,
  ) {}

  async stop(): Promise<void> {
    this.abort.abort();
    await this.watcher?.stop();
  }

  private watch(key: string | Buffer, opts: { prefix?: boolean; startRevision: bigint }): Watcher {
    this.watcher = this.session.client.watch(key, opts);
    return this.watcher;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GetResult> {
    const client = this.session.client;
    const signal = this.abort.signal;
    try {
      while (!signal.aborted) {
        const r = await client.get(this.pfx, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1, signal });
        let kv: KeyValue | undefined;
        let hdr: ResponseHeader = r.header;
        if (r.kvs.length === 0) {
          // Nobody leads: wait for the first candidate.
          const w = this.watch(this.pfx, { prefix: true, startRevision: r.header.revision });
          for await (const b of w.batches()) {
            const put = b.events.find((e) => e.type === 'put');
            if (put !== undefined) {
              kv = put.kv;
              hdr = { ...b.header, revision: put.kv.modRevision };
              break;
            }
          }
          await w.stop();
          if (kv === undefined) return;
        } else {
          kv = r.kvs[0];
        }
        yield { header: hdr, revision: hdr.revision, kvs: [kv], more: false, count: 1n };
        // Follow this leader until its key is deleted.
        const w = this.watch(kv.key, { startRevision: hdr.revision + 1n });
        let deleted = false;
        for await (const b of w.batches()) {
          for (const ev of b.events) {
            if (ev.type === 'delete') {
              deleted = true;
              break;
            }
            yield { header: b.header, revision: b.header.revision, kvs: [ev.kv], more: false, count: 1n };
          }
          if (deleted) break;
        }
        await w.stop();
        if (!deleted) return;
      }
    } catch (err) {
      if (signal.aborted && err instanceof CanceledError) return;
      throw err;
    }
  }
}
