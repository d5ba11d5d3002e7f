// The leader's view of each follower for /v2/stats/leader (etcd's v2stats LeaderStats and
// FollowerStats): latency in milliseconds with etcd's running average and standard deviation, and
// success / failure counts. etcd times its writes of append requests to each follower; here the
// sample is the round trip of a heartbeat (sent to a follower, its answer stepped in), and a
// failure is a follower reported unreachable.

import { idToHex } from '@tsetcd/common';

/** etcd starts a follower's minimum at float64(1 << 63) */
const noMinimum = 2 ** 63;

class FollowerStats {
  current = 0;
  average = 0;
  private averageSquare = 0;
  standardDeviation = 0;
  minimum = noMinimum;
  maximum = 0;
  fail = 0;
  success = 0;

  /** etcd's FollowerStats.Succ, `ms` the sample */
  succ(ms: number): void {
    const total = this.success * this.average;
    const totalSquare = this.success * this.averageSquare;
    this.success++;
    this.current = ms;
    if (ms > this.maximum) this.maximum = ms;
    if (ms < this.minimum) this.minimum = ms;
    this.average = (total + ms) / this.success;
    this.averageSquare = (totalSquare + ms * ms) / this.success;
    this.standardDeviation = Math.sqrt(Math.max(0, this.averageSquare - this.average * this.average));
  }

  json(): string {
    // Go prints float64(1 << 63) in full
    const min = this.minimum === noMinimum ? '9223372036854775808' : goFloat(this.minimum);
    return `{"latency":{"current":${goFloat(this.current)},"average":${goFloat(this.average)},"standardDeviation":${goFloat(this.standardDeviation)},"minimum":${min},"maximum":${goFloat(this.maximum)}},"counts":{"fail":${this.fail},"success":${this.success}}}`;
  }
}

/** Go's JSON float64: JavaScript's shortest form, with Go's two-digit exponent below 1e-6 */
function goFloat(x: number): string {
  const s = String(x);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

export class LeaderStats {
  private readonly followers = new Map<bigint, FollowerStats>();
  /** when the last unanswered heartbeat to each follower left (performance.now() ms) */
  private readonly pending = new Map<bigint, number>();

  private of(id: bigint): FollowerStats {
    let f = this.followers.get(id);
    if (f === undefined) {
      f = new FollowerStats();
      this.followers.set(id, f);
    }
    return f;
  }

  heartbeatSent(to: bigint): void {
    if (!this.pending.has(to)) this.pending.set(to, performance.now());
  }

  heartbeatAnswered(from: bigint): void {
    const t = this.pending.get(from);
    if (t === undefined) return;
    this.pending.delete(from);
    this.of(from).succ(performance.now() - t);
  }

  unreachable(id: bigint): void {
    this.pending.delete(id);
    this.of(id).fail++;
  }

  /** /v2/stats/leader: every peer in `peers` (those without samples yet at etcd's zero values) */
  json(leader: bigint, peers: bigint[]): string {
    const entries = peers.map((id) => `"${idToHex(id)}":${this.of(id).json()}`);
    return `{"leader":"${idToHex(leader)}","followers":{${entries.join(',')}}}`;
  }
}
