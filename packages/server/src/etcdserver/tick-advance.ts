// etcd's adjustTicks (--initial-election-tick-advance): a member that just started fast-forwards
// its election clock so the first election does not wait a whole election timeout. A one-member
// cluster advances at once; otherwise, with the flag on, once peer connections are up (both
// within etcd's 5 s connection read timeout), leaving two ticks for a leader's message to arrive.

import type { EtcdServer } from './server.js';
import { idToHex } from '@tsetcd/common';

const waitForPeersMs = 5000;
const pollMs = 50;

function tickDuration(ticks: number, tickMs: number): string {
  return `${(ticks * tickMs) / 1000}s`;
}

/** Starts the adjustment; returns a function that cancels it. */
export function adjustTicks(s: EtcdServer, o: { advance: boolean; activePeers: () => number }): () => void {
  const electionTicks = s.electionTicks();
  const tickMs = s.cfg.heartbeatIntervalMs;
  const fields = (ticks: number) => ({ 'local-member-id': idToHex(s.memberId), 'forward-ticks': ticks, 'forward-duration': tickDuration(ticks, tickMs), 'election-ticks': electionTicks, 'election-timeout': tickDuration(electionTicks, tickMs) });
  if (s.knownMemberCount() <= 1) {
    s.log.info('started as single-node; fast-forwarding election ticks', fields(electionTicks - 1));
    s.advanceTicks(electionTicks - 1);
    return () => undefined;
  }
  if (!o.advance) {
    s.log.info('skipping initial election tick advance', { 'election-ticks': electionTicks });
    return () => undefined;
  }
  s.log.info('starting initial election tick advance', { 'election-ticks': electionTicks });
  let polls = 0;
  const t = setInterval(() => {
    if (s.isStopped() || ++polls > waitForPeersMs / pollMs) {
      clearInterval(t);
      return;
    }
    // etcd advances once more than one peer reported a connection
    if (o.activePeers() > 1) {
      clearInterval(t);
      const ticks = electionTicks - 2;
      s.log.info('initialized peer connections; fast-forwarding election ticks', { ...fields(ticks), 'active-remote-members': o.activePeers() });
      s.advanceTicks(ticks);
    }
  }, pollMs);
  t.unref();
  return () => clearInterval(t);
}
