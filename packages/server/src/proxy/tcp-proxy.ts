// etcd's gateway (proxy/tcpproxy): an L4 proxy that hands each client connection to one of the
// cluster's endpoints, round-robin over the active ones (SRV priority and weight respected). An
// endpoint that refuses a dial is deactivated and retried every `monitorIntervalMs`.

import * as net from 'node:net';
import type { ServerLogger } from '../etcdserver/config.js';

export interface SrvTarget {
  target: string;
  port: number;
  priority: number;
  weight: number;
}

interface Remote {
  srv: SrvTarget;
  addr: string;
  inactive: boolean;
}

export interface TcpProxyOptions {
  listener: net.Server;
  endpoints: SrvTarget[];
  /** etcd --retry-delay (gateway default 1 minute) */
  monitorIntervalMs: number;
  log: ServerLogger;
  /** connect timeout for one dial attempt (etcd has none; a bound keeps a dead host from hanging a client) */
  dialTimeoutMs?: number;
}

export class TcpProxy {
  private readonly remotes: Remote[];
  private pickCount = 0;
  private monitor: NodeJS.Timeout | undefined;
  private readonly conns = new Set<net.Socket>();

  constructor(private readonly o: TcpProxyOptions) {
    this.remotes = o.endpoints.map((srv) => ({ srv, addr: `${srv.target}:${srv.port}`, inactive: false }));
  }

  /** Starts accepting (the listener must be listening). */
  run(): void {
    this.o.log.info('ready to proxy client requests', { endpoints: this.remotes.map((r) => r.addr) });
    this.monitor = setInterval(() => this.reactivate(), this.o.monitorIntervalMs);
    this.monitor.unref();
    this.o.listener.on('connection', (c) => void this.serve(c));
  }

  async close(): Promise<void> {
    if (this.monitor) clearInterval(this.monitor);
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => this.o.listener.close(() => r()));
  }

  /** etcd's pick: the best priority class; weighted choice when weights are set, else round-robin. */
  private pick(): Remote | undefined {
    const active = this.remotes.filter((r) => !r.inactive);
    if (active.length === 0) return undefined;
    const best = Math.min(...active.map((r) => r.srv.priority));
    const cls = active.filter((r) => r.srv.priority === best);
    const weighted = cls.filter((r) => r.srv.weight > 0);
    if (weighted.length > 0) {
      const total = weighted.reduce((n, r) => n + r.srv.weight, 0);
      let choose = Math.floor(Math.random() * total);
      for (const r of weighted) {
        choose -= r.srv.weight;
        if (choose < 0) return r;
      }
      return weighted[weighted.length - 1];
    }
    for (let i = 0; i < this.remotes.length; i++) {
      const r = this.remotes[this.pickCount++ % this.remotes.length];
      if (!r.inactive) return r;
    }
    return undefined;
  }

  private dial(addr: { host: string; port: number }): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: addr.host, port: addr.port });
      const timer = setTimeout(() => s.destroy(new Error(`dial tcp ${addr.host}:${addr.port}: i/o timeout`)), this.o.dialTimeoutMs ?? 10_000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  private async serve(inbound: net.Socket): Promise<void> {
    this.conns.add(inbound);
    inbound.on('error', () => undefined);
    inbound.once('close', () => this.conns.delete(inbound));
    inbound.pause();
    let out: net.Socket | undefined;
    for (;;) {
      const r = this.pick();
      if (r === undefined) break;
      try {
        out = await this.dial({ host: r.srv.target, port: r.srv.port });
        break;
      } catch (e) {
        r.inactive = true;
        this.o.log.warn('deactivated endpoint', { address: r.addr, interval: `${this.o.monitorIntervalMs / 1000}s`, error: (e as Error).message });
      }
    }
    if (out === undefined || inbound.destroyed) {
      out?.destroy();
      inbound.destroy();
      return;
    }
    const upstream = out;
    this.conns.add(upstream);
    upstream.once('close', () => this.conns.delete(upstream));
    upstream.on('error', () => inbound.destroy());
    inbound.on('error', () => upstream.destroy());
    // either side closing closes both (etcd's io.Copy pair)
    upstream.once('close', () => inbound.destroy());
    inbound.once('close', () => upstream.destroy());
    inbound.pipe(upstream);
    upstream.pipe(inbound);
    inbound.resume();
  }

  private reactivate(): void {
    for (const r of this.remotes) {
      if (!r.inactive) continue;
      this.dial({ host: r.srv.target, port: r.srv.port }).then(
        (s) => {
          s.destroy();
          r.inactive = false;
          this.o.log.info('activated', { address: r.addr });
        },
        (e: Error) => this.o.log.warn('failed to activate endpoint (stay inactive for another interval)', { address: r.addr, interval: `${this.o.monitorIntervalMs / 1000}s`, error: e.message }),
      );
    }
  }
}
