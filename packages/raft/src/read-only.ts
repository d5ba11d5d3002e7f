// Pending ReadIndex requests on the leader. Each request remembers the commit index at the time
// it arrived; it is released once a quorum acknowledged a heartbeat carrying its context (which
// proves we were still leader after the request arrived). Requests are released in FIFO order:
// an ack for a later request also confirms every earlier one.
import type { NodeId } from './types.js';
import type { Message } from './message.js';

interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Set<NodeId>;
}

function key(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('latin1');
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  addRequest(index: number, m: Message): void {
    const k = key(m.entries[0].data);
    if (this.pending.has(k)) return;
    this.pending.set(k, { req: m, index, acks: new Set() });
    this.queue.push(k);
  }

  /** Records that `id` acked the heartbeat with this context; returns the ack set (or undefined). */
  recvAck(id: NodeId, ctx: Uint8Array): Set<NodeId> | undefined {
    const rs = this.pending.get(key(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Releases the request with this context and every request queued before it. */
  advance(ctx: Uint8Array): { req: Message; index: number }[] {
    const k = key(ctx);
    const at = this.queue.indexOf(k);
    if (at < 0) return [];
    const out: { req: Message; index: number }[] = [];
    for (let i = 0; i <= at; i++) {
      const rs = this.pending.get(this.queue[i]);
      if (rs) out.push({ req: rs.req, index: rs.index });
      this.pending.delete(this.queue[i]);
    }
    this.queue = this.queue.slice(at + 1);
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])!.req.entries[0].data;
  }

  get size(): number {
    return this.queue.length;
  }
}
