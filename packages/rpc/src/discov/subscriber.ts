// Follows the servers registered under `<Key>/` (go-zero's discov.Subscriber): get the
// range [Key/, Key0), then watch it from the response revision + 1. The address list is
// the distinct values. After a broken or compacted watch it lists again and diffs; while
// etcd is unreachable the last known list is kept.
import type { Logger } from 'pino';
import type { Registry, RegistryWatch } from './registry.js';
import { prefixEnd } from './registry.js';
import { WatchCompactedError } from '../errors.js';

export const relistIntervalMs = 1_000;

export type AddressListener = (addresses: string[]) => void;

export class Subscriber {
  private readonly values = new Map<string, string>(); // etcd key → host:port
  private addresses: string[] = [];
  private readonly listeners = new Set<AddressListener>();
  private watch: RegistryWatch | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wakeSleep: (() => void) | undefined;
  private firstLoad: Promise<void>;
  private resolveFirstLoad!: () => void;
  /** Number of successful full listings (1 after start, more after re-lists). */
  listings = 0;
  /** Why the last listing or watch failed (cleared by the next successful listing). */
  lastError: Error | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly key: string,
    private readonly logger?: Logger,
  ) {
    this.firstLoad = new Promise((r) => (this.resolveFirstLoad = r));
  }

  /** Starts following; resolves after the first listing (or first failure). */
  start(): Promise<void> {
    this.running ??= this.loop();
    return this.firstLoad;
  }


  /** The current distinct addresses. */
  get current(): string[] {
    return this.addresses;
  }

  onChange(listener: AddressListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private publish(): void {
    const next = [...new Set(this.values.values())].sort();
    if (next.length === this.addresses.length && next.every((a, i) => a === this.addresses[i])) return;
    this.addresses = next;
    for (const l of this.listeners) l(next);
  }

  private async loop(): Promise<void> {
    const from = `${this.key}/`;
    const to = prefixEnd(from);
    while (!this.stopped) {
      try {
        const { kvs, revision } = await this.registry.range(from, to);
        if (this.stopped) break;
        this.values.clear();
        for (const kv of kvs) this.values.set(kv.key, kv.value);
        this.listings++;
        this.lastError = undefined;
        this.publish();
        this.resolveFirstLoad();
        const watch = this.registry.watch(from, to, revision + 1n);
        this.watch = watch;
        if (this.stopped) watch.stop();
        for await (const batch of watch) {
          for (const ev of batch.events) {
            if (ev.type === 'put') this.values.set(ev.key, ev.value);
            else this.values.delete(ev.key);
          }
          this.publish();
        }
      } catch (err) {
        this.lastError = err as Error;
        this.resolveFirstLoad();
        if (this.stopped) break;
        if (!(err instanceof WatchCompactedError)) this.logger?.debug({ err: (err as Error).message, key: this.key }, 'discovery: etcd unavailable, keeping last list');
        await this.sleep(relistIntervalMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeSleep = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wakeSleep?.();
    this.resolveFirstLoad();
  }
}
