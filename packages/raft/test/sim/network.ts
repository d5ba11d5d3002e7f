// Simulated network: every message is encoded on send and decoded on delivery (so nodes never
// share objects and the codec is exercised), and may be dropped, duplicated, delayed (which
// reorders) or blocked by a partition. One-way links are possible.
import { encodeMessage, type Message, type NodeId } from '../../src/index.js';
import type { Rng } from './prng.js';

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  /** delivery happens 0..maxDelayTicks after send */
  maxDelayTicks: number;
}

export const RELIABLE: NetworkFaults = { dropRate: 0, duplicateRate: 0, maxDelayTicks: 1 };

export type SendOutcome = 'sent' | 'lost' | 'unreachable';

interface InFlight {
  deliverAt: number;
  from: NodeId;
  to: NodeId;
  bytes: Uint8Array;
  isSnapshot: boolean;
}

export class Network {
  faults: NetworkFaults = RELIABLE;
  private queue: InFlight[] = [];
  /** directed links that are cut: `${from}>${to}` */
  private readonly cut = new Set<string>();
  sent = 0;
  dropped = 0;

  constructor(private readonly rng: Rng) {}

  blocked(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Splits nodes into two sides that cannot talk to each other. */
  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut.add(`${x}>${y}`);
        this.cut.add(`${y}>${x}`);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }

  /**
   * Queues a message. 'unreachable' means a partition blocked it (a real transport notices a
   * failed connection and the node calls reportUnreachable); 'lost' is a silent drop.
   */
  send(now: number, m: Message): SendOutcome {
    this.sent++;
    if (this.blocked(m.from, m.to)) {
      this.dropped++;
      return 'unreachable';
    }
    if (this.rng.chance(this.faults.dropRate)) {
      this.dropped++;
      return 'lost';
    }
    const bytes = encodeMessage(m);
    const isSnapshot = m.snapshot !== undefined;
    this.queue.push({ deliverAt: now + this.rng.int(this.faults.maxDelayTicks + 1), from: m.from, to: m.to, bytes, isSnapshot });
    if (this.rng.chance(this.faults.duplicateRate)) {
      this.queue.push({ deliverAt: now + this.rng.int(this.faults.maxDelayTicks + 2), from: m.from, to: m.to, bytes, isSnapshot });
    }
    return 'sent';
  }

  /** Messages due at `now`, in random order; partitions apply at delivery time too. */
  due(now: number): { from: NodeId; to: NodeId; bytes: Uint8Array }[] {
    const out: InFlight[] = [];
    const keep: InFlight[] = [];
    for (const f of this.queue) (f.deliverAt <= now ? out : keep).push(f);
    this.queue = keep;
    this.rng.shuffle(out);
    return out.filter((f) => {
      if (this.blocked(f.from, f.to)) {
        this.dropped++;
        return false;
      }
      return true;
    });
  }

  get inFlight(): number {
    return this.queue.length;
  }
}
