// Registers one server in etcd the way go-zero's discov.Publisher does: key
// `<Key>/<leaseID decimal>` (or `<Key>/<ID>`), value the bare host:port, on a lease of
// 10 s kept alive. Lease lost → revoke, re-grant and re-put every second until it
// works; our key deleted under us → put it back. Optional metadata sits on the sibling
// key `<Key>.meta/<leaseID>` on the same lease.
import type { Logger } from 'pino';
import type { Registry, LeaseKeeper, RegistryWatch } from './registry.js';

/** go-zero's discov.TimeToLive. */
export const registrationTtlSec = 10;
export const reregisterIntervalMs = 1_000;

export interface PublisherOptions {
  key: string;
  value: string;
  /** go-zero's Etcd.ID: fixed key suffix instead of the lease id. */
  id?: bigint;
  ttlSec?: number;
  /** Stored as JSON on `<key>.meta/<suffix>` (weight, zone, version, ...). */
  meta?: Record<string, unknown>;
  logger?: Logger;
}

export type PublisherState = 'idle' | 'registered' | 'retrying' | 'paused' | 'stopped';

export class Publisher {
  private lease = 0n;
  private keeper: LeaseKeeper | undefined;
  private ownWatch: RegistryWatch | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private state_: PublisherState = 'idle';
  private readonly ttlSec: number;
  private registering: Promise<void> | undefined;
  private generation = 0;
  /** Leases we gave up on but could not revoke yet (etcd was down): revoked once it is back. */
  private readonly staleLeases = new Set<bigint>();
  fullKey = '';

  constructor(
    private readonly registry: Registry,
    private readonly opts: PublisherOptions,
  ) {
    if (opts.key.length === 0) throw new RangeError('publisher: empty key');
    this.ttlSec = opts.ttlSec ?? registrationTtlSec;
  }

  get state(): PublisherState {
    return this.state_;
  }

  get leaseId(): bigint {
    return this.lease;
  }

  /** Registers once; rejects if etcd refuses (like go-zero, a server fails to start). */
  async start(): Promise<void> {
    if (this.state_ !== 'idle') throw new Error(`publisher: start in state ${this.state_}`);
    await this.register();
  }

  private keyFor(lease: bigint): string {
    const suffix = this.opts.id !== undefined && this.opts.id > 0n ? this.opts.id : lease;
    return `${this.opts.key}/${suffix}`;
  }

  private metaKeyFor(lease: bigint): string {
    const suffix = this.opts.id !== undefined && this.opts.id > 0n ? this.opts.id : lease;
    return `${this.opts.key}.meta/${suffix}`;
  }

  private async register(): Promise<void> {
    const gen = ++this.generation;
    const lease = await this.registry.grant(this.ttlSec);
    try {
      const fullKey = this.keyFor(lease);
      await this.registry.put(fullKey, this.opts.value, lease);
      if (this.opts.meta) await this.registry.put(this.metaKeyFor(lease), JSON.stringify(this.opts.meta), lease);
      if (this.state_ === 'stopped' || gen !== this.generation) {
        await this.registry.revoke(lease).catch(() => undefined);
        return;
      }
      this.lease = lease;
      this.fullKey = fullKey;
      this.state_ = 'registered';
      this.keeper = this.registry.keepAlive(lease, this.ttlSec, (reason) => this.lost(reason));
      this.opts.logger?.info({ key: fullKey, value: this.opts.value, lease: lease.toString() }, 'registered in etcd');
      void this.guardOwnKey(fullKey, lease);
      for (const old of this.staleLeases) {
        this.registry.revoke(old).then(
          () => this.staleLeases.delete(old),
          () => this.staleLeases.delete(old), // gone already, or etcd flapping: its TTL will end it
        );
      }
    } catch (err) {
      await this.registry.revoke(lease).catch(() => undefined);
      throw err;
    }
  }

  /** Watches our own key and puts it back if someone deletes it while the lease lives. */
  private async guardOwnKey(fullKey: string, lease: bigint): Promise<void> {
    const current = () => this.state_ === 'registered' && this.lease === lease;
    while (current()) {
      let watch: RegistryWatch | undefined;
      try {
        const { kvs, revision } = await this.registry.range(fullKey);
        if (!current()) return;
        if (kvs.length === 0) {
          this.opts.logger?.warn({ key: fullKey }, 'registration missing, putting it back');
          await this.registry.put(fullKey, this.opts.value, lease);
        }
        watch = this.registry.watch(fullKey, undefined, revision + 1n);
        this.ownWatch = watch;
        if (!current()) return;
        for await (const batch of watch) {
          for (const ev of batch.events) {
            if (ev.type === 'delete' && current()) {
              this.opts.logger?.warn({ key: fullKey }, 'registration deleted under us, putting it back');
              await this.registry.put(fullKey, this.opts.value, lease);
            }
          }
        }
        return; // stopped on purpose
      } catch {
        // etcd unreachable or watch broken: look again after a pause
        await new Promise((r) => setTimeout(r, reregisterIntervalMs));
      } finally {
        watch?.stop();
      }
    }
  }

  private lost(reason: string): void {
    if (this.state_ !== 'registered') return;
    this.opts.logger?.warn({ key: this.fullKey, reason }, 'lease lost, re-registering');
    this.state_ = 'retrying';
    this.keeper?.stop();
    this.keeper = undefined;
    this.ownWatch?.stop();
    const old = this.lease;
    this.staleLeases.add(old);
    this.registry.revoke(old).then(
      () => this.staleLeases.delete(old),
      () => undefined,
    );
    this.scheduleRetry(0);
  }

  private scheduleRetry(delayMs: number): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state_ !== 'retrying') return;
      this.registering = this.register().catch((err: Error) => {
        this.opts.logger?.debug({ err: err.message }, 're-register failed');
        if (this.state_ === 'retrying') this.scheduleRetry(reregisterIntervalMs);
      });
    }, delayMs);
  }

  /**
   * go-zero's Publisher.Pause: stops renewing and revokes the lease, so the key leaves etcd
   * and clients stop picking this server; resume() registers it again. Resolves once revoked.
   */
  async pause(): Promise<void> {
    if (this.state_ === 'idle' || this.state_ === 'stopped' || this.state_ === 'paused') return;
    const wasRegistered = this.state_ === 'registered';
    const lease = this.lease;
    this.state_ = 'paused';
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.keeper?.stop();
    this.keeper = undefined;
    this.ownWatch?.stop();
    await this.registering?.catch(() => undefined);
    this.opts.logger?.info({ key: this.fullKey, value: this.opts.value }, 'paused etcd renew');
    if (wasRegistered && lease !== 0n) {
      await this.registry.revoke(lease).catch(() => {
        this.staleLeases.add(lease); // etcd unreachable: revoked once it is back, or its TTL ends it
      });
    }
  }

  /**
   * go-zero's Publisher.Resume: registers again on a new lease. Resolves once registered; if
   * etcd refuses, rejects with that error and keeps retrying every second in the background.
   */
  async resume(): Promise<void> {
    if (this.state_ !== 'paused') return;
    this.state_ = 'retrying';
    const attempt = this.register();
    this.registering = attempt.catch(() => undefined);
    try {
      await attempt;
    } catch (err) {
      if (this.state_ === 'retrying') this.scheduleRetry(reregisterIntervalMs);
      throw err;
    }
  }

  /** Deregisters: stops renewing and revokes the lease (deleting our keys). */
  async stop(): Promise<void> {
    if (this.state_ === 'stopped') return;
    const wasRegistered = this.state_ === 'registered';
    this.state_ = 'stopped';
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.keeper?.stop();
    this.ownWatch?.stop();
    await this.registering?.catch(() => undefined);
    if (wasRegistered && this.lease !== 0n) await this.registry.revoke(this.lease).catch(() => undefined);
  }
}
