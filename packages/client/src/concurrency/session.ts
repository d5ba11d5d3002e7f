// A Session is a lease kept alive for as long as the session lives (clientv3/concurrency's
// Session): locks and campaigns made through it vanish when the process dies or the lease is lost.
import type { Client } from '../client.js';
import { LeaseNotFoundError, type LeaseLostError } from '../errors.js';
import type { KeepAlive } from '../lease.js';

/** Default session TTL in seconds (clientv3/concurrency's defaultSessionTTL). */
export const sessionTtlDefaultSeconds = 60;

export interface SessionOptions {
  /** Lease TTL in seconds (default 60). */
  ttl?: number;
  /** Reuse an existing lease instead of granting one. */
  lease?: bigint;
}

export class Session {
  /** Resolves when the session ends: lease lost, orphan(), close() or client.close(). */
  readonly done: Promise<void>;
  /** Set when the lease was lost (as opposed to the session being closed). */
  lostError: LeaseLostError | undefined;
  private ended = false;
  private resolveDone!: () => void;

  private constructor(
    readonly client: Client,
    readonly lease: bigint,
    readonly ttl: number,
    private readonly keepAlive: KeepAlive,
  ) {
    this.done = new Promise<void>((r) => (this.resolveDone = r));
    void keepAlive.lost.then((err) => {
      this.lostError = err;
      this.finish();
    });
    // client.close() stops every keepalive: the session is over then too.
    keepAlive.once('stopped', () => this.finish());
  }

  /** Grants (or adopts) the lease and starts keeping it alive. */
  static async create(client: Client, opts: SessionOptions = {}): Promise<Session> {
    const ttl = opts.ttl ?? sessionTtlDefaultSeconds;
    const lease = opts.lease ?? (await client.lease.grant(ttl)).id;
    return new Session(client, lease, ttl, client.lease.keepAlive(lease));
  }

  get isDone(): boolean {
    return this.ended;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.keepAlive.stop();
    this.resolveDone();
  }

  /** Stops refreshing the lease without revoking it (it expires after its TTL). */
  orphan(): void {
    this.finish();
  }

  /** Ends the session and revokes its lease, deleting every key attached to it. */
  async close(): Promise<void> {
    this.finish();
    try {
      await this.client.lease.revoke(this.lease);
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
    }
  }
}
