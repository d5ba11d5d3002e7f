// The p2c_ewma (and consistent_hash) load-balancing policies plugged into @grpc/grpc-js.
// One subchannel per resolved address; only READY subchannels are pickable, so a server
// whose connection fails leaves the rotation at once. EWMA stats are kept per address
// and survive membership changes (a server that leaves and comes back keeps its history
// for statsRetentionMs).
import * as grpc from '@grpc/grpc-js';
import { experimental } from '@grpc/grpc-js';
import { P2c, ServerStats, p2cName } from './p2c-picker.js';
import { HashRing } from './consistent-hash.js';
import { GoogleBreaker } from '../breaker/google-breaker.js';
import { failureCodes } from './failure-codes.js';

type LoadBalancer = experimental.LoadBalancer;
type ChannelControlHelper = experimental.ChannelControlHelper;
type SubchannelInterface = experimental.SubchannelInterface;
type Endpoint = experimental.Endpoint;
type Picker = experimental.Picker;
type PickResult = experimental.PickResult;
type PickArgs = experimental.PickArgs;
const { PickResultType, QueuePicker, UnavailablePicker } = experimental;
const { connectivityState: State } = grpc;

export const consistentHashName = 'consistent_hash';
export const defaultHashHeader = 'x-hash-key';
export const statsRetentionMs = 60_000;

export interface BalancerConfigJson {
  /** One Google SRE breaker per server (beyond go-zero, which keys it by method only). */
  breakerPerServer?: boolean;
  /** consistent_hash only: metadata key whose value is hashed. */
  hashHeader?: string;
}

function makeConfigClass(name: string) {
  return class implements experimental.TypedLoadBalancingConfig {
    constructor(readonly json: BalancerConfigJson = {}) {}
    getLoadBalancerName(): string {
      return name;
    }
    toJsonObject(): object {
      return { [name]: this.json };
    }
    static createFromJson(obj: unknown): experimental.TypedLoadBalancingConfig {
      const o = (obj ?? {}) as BalancerConfigJson;
      if (o.breakerPerServer !== undefined && typeof o.breakerPerServer !== 'boolean') throw new Error(`${name}: breakerPerServer must be a boolean`);
      if (o.hashHeader !== undefined && typeof o.hashHeader !== 'string') throw new Error(`${name}: hashHeader must be a string`);
      return new this(o);
    }
  };
}

interface Entry {
  address: string;
  sub: SubchannelInterface;
  stats: ServerStats;
  breaker: GoogleBreaker | undefined;
}

const p2c = new P2c();

function completePick(entry: Entry): PickResult {
  const start = p2c.now();
  let ended = false;
  return {
    pickResultType: PickResultType.COMPLETE,
    subchannel: entry.sub,
    status: null,
    onCallStarted: null,
    onCallEnded: (code: grpc.status) => {
      if (ended) return;
      ended = true;
      p2c.callEnded(entry.stats, start, code);
      const breaker = entry.breaker;
      if (breaker) {
        if (failureCodes.has(code)) breaker.markFailure();
        else breaker.markSuccess();
      }
    },
  };
}

function breakerDrop(): PickResult {
  return {
    pickResultType: PickResultType.DROP,
    subchannel: null,
    status: { code: grpc.status.UNAVAILABLE, details: 'circuit breaker is open', metadata: new grpc.Metadata() },
    onCallStarted: null,
    onCallEnded: null,
  };
}

class P2cPicker implements Picker {
  private readonly stats: ServerStats[];
  constructor(private readonly entries: Entry[]) {
    this.stats = entries.map((e) => e.stats);
  }
  pick(): PickResult {
    let stats = this.stats;
    let entries = this.entries;
    for (;;) {
      const chosen = p2c.pick(stats);
      const i = stats.length === 1 ? 0 : stats.indexOf(chosen);
      const entry = entries[i];
      if (!entry.breaker || entry.breaker.allow()) return completePick(entry);
      // this server's breaker refused: try the others before failing the call
      chosen.inflight--;
      chosen.requests--;
      if (stats.length === 1) return breakerDrop();
      stats = stats.filter((_, j) => j !== i);
      entries = entries.filter((_, j) => j !== i);
    }
  }
}

/**
 * The ring holds every resolved server, connected or not, so a key's owner does not
 * depend on connection timing; a key whose owner is not READY goes through p2c instead.
 */
class HashPicker implements Picker {
  private readonly ring: HashRing<Entry>;
  private readonly fallback: P2cPicker;
  private readonly ready: Set<Entry>;
  constructor(
    ready: Entry[],
    all: Entry[],
    private readonly header: string,
  ) {
    this.ring = new HashRing(all.map((e) => [e.address, e] as [string, Entry]));
    this.fallback = new P2cPicker(ready);
    this.ready = new Set(ready);
  }
  pick(args: PickArgs): PickResult {
    const v = args.metadata.get(this.header)[0];
    if (v === undefined) return this.fallback.pick();
    const entry = this.ring.get(String(v))!;
    if (!this.ready.has(entry)) return this.fallback.pick();
    entry.stats.inflight++;
    entry.stats.requests++;
    if (entry.breaker && !entry.breaker.allow()) {
      entry.stats.inflight--;
      return breakerDrop();
    }
    return completePick(entry);
  }
}

function addressKey(a: experimental.SubchannelAddress): string {
  return 'host' in a ? (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`) : a.path;
}

abstract class BaseBalancer implements LoadBalancer {
  private readonly entries = new Map<string, Entry>();
  /** Stats of addresses that left recently, reused if they come back. */
  private readonly retired = new Map<string, { stats: ServerStats; breaker: GoogleBreaker | undefined; at: number }>();
  private config: BalancerConfigJson = {};
  private lastError = '';
  private destroyed = false;

  constructor(private readonly helper: ChannelControlHelper) {}

  abstract getTypeName(): string;
  protected abstract makePicker(ready: Entry[], config: BalancerConfigJson, all: Entry[]): Picker;

  private readonly onState = (sub: SubchannelInterface, _prev: grpc.connectivityState, next: grpc.connectivityState, _keepalive: number, errorMessage?: string): void => {
    if (this.destroyed) return;
    if (next === State.IDLE) sub.startConnecting();
    if (next === State.TRANSIENT_FAILURE && errorMessage) this.lastError = errorMessage;
    this.publish();
  };

  updateAddressList(endpointList: experimental.StatusOr<Endpoint[]>, lbConfig: experimental.TypedLoadBalancingConfig, channelOptions: grpc.ChannelOptions): boolean {
    this.config = (lbConfig as unknown as { json?: BalancerConfigJson }).json ?? {};
    if (!endpointList.ok) {
      if (this.entries.size === 0) {
        this.helper.updateState(State.TRANSIENT_FAILURE, new UnavailablePicker({ details: endpointList.error.details }), endpointList.error.details);
      }
      return true;
    }
    const wanted = new Map<string, experimental.SubchannelAddress>();
    for (const ep of endpointList.value) {
      const a = ep.addresses[0];
      if (a) wanted.set(addressKey(a), a);
    }
    const now = Date.now();
    for (const [key, e] of this.entries) {
      if (wanted.has(key)) continue;
      e.sub.removeConnectivityStateListener(this.onState);
      e.sub.unref();
      this.helper.removeChannelzChild(e.sub.getChannelzRef());
      this.entries.delete(key);
      this.retired.set(key, { stats: e.stats, breaker: e.breaker, at: now });
    }
    for (const [key, r] of this.retired) if (now - r.at > statsRetentionMs) this.retired.delete(key);
    for (const [key, addr] of wanted) {
      if (this.entries.has(key)) continue;
      const sub = this.helper.createSubchannel(addr, channelOptions);
      sub.ref();
      this.helper.addChannelzChild(sub.getChannelzRef());
      sub.addConnectivityStateListener(this.onState);
      const old = this.retired.get(key);
      this.retired.delete(key);
      const breaker = this.config.breakerPerServer ? (old?.breaker ?? new GoogleBreaker(key)) : undefined;
      this.entries.set(key, { address: key, sub, stats: old?.stats ?? new ServerStats(key), breaker });
      sub.startConnecting();
    }
    this.publish();
    return true;
  }

  private publish(): void {
    const ready: Entry[] = [];
    let connecting = false;
    for (const e of this.entries.values()) {
      const s = e.sub.getConnectivityState();
      if (s === State.READY) ready.push(e);
      else if (s === State.CONNECTING || s === State.IDLE) connecting = true;
    }
    if (ready.length > 0) this.helper.updateState(State.READY, this.makePicker(ready, this.config, [...this.entries.values()]), null);
    else if (connecting) this.helper.updateState(State.CONNECTING, new QueuePicker(this), null);
    else {
      const details = this.entries.size === 0 ? 'no available server' : `no server reachable: ${this.lastError}`;
      this.helper.updateState(State.TRANSIENT_FAILURE, new UnavailablePicker({ details }), details);
    }
  }

  exitIdle(): void {
    for (const e of this.entries.values()) if (e.sub.getConnectivityState() === State.IDLE) e.sub.startConnecting();
  }

  resetBackoff(): void {}

  destroy(): void {
    this.destroyed = true;
    for (const e of this.entries.values()) {
      e.sub.removeConnectivityStateListener(this.onState);
      e.sub.unref();
      this.helper.removeChannelzChild(e.sub.getChannelzRef());
    }
    this.entries.clear();
  }
}

class P2cBalancer extends BaseBalancer {
  getTypeName(): string {
    return p2cName;
  }
  protected makePicker(ready: Entry[]): Picker {
    return new P2cPicker(ready);
  }
}

class ConsistentHashBalancer extends BaseBalancer {
  getTypeName(): string {
    return consistentHashName;
  }
  protected makePicker(ready: Entry[], config: BalancerConfigJson, all: Entry[]): Picker {
    return new HashPicker(ready, all, config.hashHeader ?? defaultHashHeader);
  }
}

let registered = false;
/** Registers p2c_ewma and consistent_hash with grpc-js (idempotent). */
export function registerBalancers(): void {
  if (registered) return;
  registered = true;
  experimental.registerLoadBalancerType(p2cName, P2cBalancer, makeConfigClass(p2cName));
  experimental.registerLoadBalancerType(consistentHashName, ConsistentHashBalancer, makeConfigClass(consistentHashName));
}

/** The grpc.service_config channel option selecting a balancer. */
export function serviceConfigFor(balancerName: string, config: BalancerConfigJson = {}): string {
  return JSON.stringify({ loadBalancingConfig: [{ [balancerName]: config }] });
}
