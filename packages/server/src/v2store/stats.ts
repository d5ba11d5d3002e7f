// The v2 store's operation counters (etcd's v2store Stats), in the order /v2/stats/store lists them.

const names = [
  'getsSuccess',
  'getsFail',
  'setsSuccess',
  'setsFail',
  'deleteSuccess',
  'deleteFail',
  'updateSuccess',
  'updateFail',
  'createSuccess',
  'createFail',
  'compareAndSwapSuccess',
  'compareAndSwapFail',
  'compareAndDeleteSuccess',
  'compareAndDeleteFail',
  'expireCount',
] as const;

export type StatName = (typeof names)[number];

export class StoreStats {
  private readonly counts = new Map<StatName, number>(names.map((n) => [n, 0]));

  inc(name: StatName): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  get(name: StatName): number {
    return this.counts.get(name) ?? 0;
  }

  load(from: Record<string, unknown>): void {
    for (const n of names) {
      const v = from[n];
      this.counts.set(n, typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);
    }
  }

  toObject(): Record<StatName, number> {
    return Object.fromEntries(this.counts) as Record<StatName, number>;
  }

  /** /v2/stats/store's body */
  toJson(watchers: number): string {
    return JSON.stringify({ ...this.toObject(), watchers });
  }
}
