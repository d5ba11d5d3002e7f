// Forwarded proposals that provably never left this member. A follower's raft forwards a client's
// proposal (MsgProp) to the leader it knows; when that leader is down, its address refuses the
// connection and the proposal is gone: etcd's client waits out its request timeout. Here such a
// proposal waits instead for the next leader and is proposed again, as a proposal made while
// there is no leader waits in etcd's raft node. Only a refused connection counts (nothing was
// sent, so nothing can be applied twice); a proposal whose request stopped waiting is dropped.

import { EntryType, type Message } from '@tsetcd/raft';

export class UndeliveredProposals {
  private held: Buffer[] = [];

  /** `waiting(data)`: the proposal's request still waits for its apply (its client is there) */
  constructor(private readonly waiting: (data: Buffer) => boolean) {}

  /** Keeps the normal entries of a MsgProp that never reached its leader. */
  hold(m: Message): void {
    for (const e of m.entries) if (e.type === EntryType.Normal && e.data.length > 0) this.held.push(Buffer.from(e.data));
    this.held = this.held.filter(this.waiting);
  }

  /** A leader is known again: the held proposals still waited for, to propose now. */
  release(): Buffer[] {
    const out = this.held.filter(this.waiting);
    this.held = [];
    return out;
  }

  get size(): number {
    return this.held.length;
  }
}
