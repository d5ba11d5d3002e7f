// An application module that keeps feature flags in etcd through the npm `etcd3` client:
// flags live under a prefix as "on"/"off", every instance holds a live copy (get + watch).
// It knows nothing about tsetcd; feature-flags.test.ts tests it against a tsetcd test cluster.
import type { Etcd3, Watcher } from 'etcd3';

export class FeatureFlags {
  private readonly flags = new Map<string, boolean>();
  private watcher: Watcher | undefined;
  private readonly listeners = new Set<(name: string, on: boolean) => void>();

  constructor(
    private readonly etcd: Etcd3,
    private readonly prefix = 'flags/',
  ) {}

  /** Loads every flag, then follows changes from the revision after the load. */
  async start(): Promise<void> {
    const res = await this.etcd.getAll().prefix(this.prefix).exec();
    for (const kv of res.kvs) this.flags.set(kv.key.toString().slice(this.prefix.length), kv.value.toString() === 'on');
    const next = (BigInt(res.header.revision) + 1n).toString();
    this.watcher = await this.etcd.watch().prefix(this.prefix).startRevision(next).create();
    this.watcher.on('put', (kv) => this.changed(kv.key.toString(), kv.value.toString() === 'on'));
    this.watcher.on('delete', (kv) => this.changed(kv.key.toString(), undefined));
  }

  private changed(key: string, on: boolean | undefined): void {
    const name = key.slice(this.prefix.length);
    if (on === undefined) this.flags.delete(name);
    else this.flags.set(name, on);
    for (const l of this.listeners) l(name, on ?? false);
  }

  isOn(name: string): boolean {
    return this.flags.get(name) ?? false;
  }

  async set(name: string, on: boolean): Promise<void> {
    await this.etcd.put(this.prefix + name).value(on ? 'on' : 'off');
  }

  onChange(fn: (name: string, on: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async close(): Promise<void> {
    await this.watcher?.cancel();
  }
}
