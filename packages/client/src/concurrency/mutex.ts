// A distributed mutex with the same keys and algorithm as clientv3/concurrency's Mutex, so Go and
// TypeScript processes exclude each other: each contender puts `<prefix>/<lease id in hex>`
// under its session lease; the key with the lowest create revision holds the lock; the others
// wait for the deletion of the key created just before theirs.
import { CanceledError } from '../errors.js';
import { toBuffer } from '../bytes.js';
import type { GetResult, ResponseHeader } from '../kv.js';
import { compare, op, type Compare } from '../txn.js';
import type { Session } from './session.js';
import { isAborted, waitDeletes } from './wait-deletes.js';

export class Mutex {
  private readonly pfx: string;
  private myKey = '';
  private myRev = -1n;
  private hdr: ResponseHeader | undefined;

  constructor(
    readonly session: Session,
    prefix: string,
  ) {
    this.pfx = `${prefix}/`;
  }

  /** Acquires the lock, waiting as long as needed (or until `signal` aborts). */
  async lock(opts?: { signal?: AbortSignal }): Promise<void> {
    const client = this.session.client;
    this.myKey = `${this.pfx}${this.session.lease.toString(16)}`;
    const getOwner = op.get(this.pfx, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 });
    if (isAborted(opts?.signal)) throw new CanceledError('context canceled');
    // The put is not cancelled in flight: once it may have reached the server, its answer is
    // needed to know the key is ours. An abort during it is seen by waitDeletes, which releases.
    const r = await client
      .txn()
      .if(compare.createRevision(this.myKey, '=', 0))
      .then(op.put(this.myKey, '', { lease: this.session.lease }), getOwner)
      .else(op.get(this.myKey), getOwner)
      .commit();
    this.myRev = r.header.revision;
    if (!r.succeeded) this.myRev = (r.results[0] as GetResult).kvs[0].createRevision;
    const owner = (r.results[1] as GetResult).kvs;
    if (owner.length === 0 || owner[0].createRevision === this.myRev) {
      this.hdr = r.header;
      return;
    }
    try {
      this.hdr = await waitDeletes(client, this.pfx, this.myRev - 1n, opts?.signal);
    } catch (err) {
      await this.unlock().catch(() => undefined);
      throw err;
    }
  }

  /** Releases the lock (deletes this session's key). */
  async unlock(): Promise<void> {
    await this.session.client.delete(this.myKey);
    this.myKey = '\x00';
    this.myRev = -1n;
  }

  /** A comparison true while this mutex holds the lock, for guarding transactions. */
  isOwner(): Compare {
    return compare.createRevision(toBuffer(this.myKey), '=', this.myRev);
  }

  /** The lock key of this session (`<prefix>/<lease hex>`). */
  get key(): string {
    return this.myKey;
  }

  /** Response header received when the lock was acquired. */
  get header(): ResponseHeader | undefined {
    return this.hdr;
  }
}
