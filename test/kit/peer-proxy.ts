// A TCP proxy in front of one member's peer listener, so that a test can partition members: it
// learns the sending member of each connection from rafthttp's X-Server-From header and cuts
// traffic from chosen members (or all traffic) until healed, or black-holes the address.

import * as net from 'node:net';

/**
 * A TCP proxy in front of one member's peer listener. It reads the first request bytes of each
 * connection to learn the sending member (rafthttp's X-Server-From header), so a test can cut
 * traffic from chosen members, or all traffic, and heal it later.
 */
export class PeerProxy {
  readonly server: net.Server;
  port = 0;
  private readonly conns = new Set<{ from: string; a: net.Socket; b?: net.Socket; frozen?: boolean }>();
  /** connections accepted while black-holed: never read, never forwarded */
  private readonly held = new Set<net.Socket>();
  private frozen = false;
  private blockAll = false;
  private readonly blocked = new Set<string>();

  constructor(readonly targetPort: number) {
    this.server = net.createServer((sock) => this.onConn(sock));
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private allowed(from: string): boolean {
    return !this.blockAll && !this.blocked.has(from);
  }

  private onConn(a: net.Socket): void {
    let head = Buffer.alloc(0);
    a.on('error', () => undefined);
    if (this.frozen) {
      a.pause();
      this.held.add(a);
      return;
    }
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0 && head.length < 16384) return;
      a.off('data', onData);
      a.pause();
      const m = /\r\nx-server-from:\s*([0-9a-f]+)/i.exec(head.subarray(0, end < 0 ? head.length : end).toString('latin1'));
      const from = m ? m[1].toLowerCase() : '';
      if (!this.allowed(from)) {
        a.destroy();
        return;
      }
      const b = net.connect(this.targetPort, '127.0.0.1');
      const c: { from: string; a: net.Socket; b: net.Socket; frozen?: boolean } = { from, a, b };
      this.conns.add(c);
      // a black-holed connection passes on nothing, not even its end
      b.on('error', () => void (c.frozen || a.destroy()));
      a.on('close', () => {
        if (c.frozen) return;
        b.destroy();
        this.conns.delete(c);
      });
      b.on('close', () => void (c.frozen || a.destroy()));
      b.write(head);
      a.pipe(b);
      b.pipe(a);
      a.resume();
    };
    a.on('data', onData);
  }

  private enforce(): void {
    for (const c of this.conns) {
      if (!this.allowed(c.from)) {
        c.a.destroy();
        c.b?.destroy();
        this.conns.delete(c);
      }
    }
  }

  /**
   * Black-holes the address (true), as a firewall dropping its packets would: every connection
   * through the proxy stays open but carries nothing more either way (not even a close), and new
   * connections are accepted but never answered. false: the frozen connections are cut (as
   * long-dead TCP connections end) and new ones are forwarded again.
   */
  blackhole(on: boolean): void {
    if (this.frozen === on) return;
    this.frozen = on;
    for (const c of this.conns) {
      if (on) {
        c.frozen = true;
        c.a.unpipe();
        c.b?.unpipe();
        c.a.pause();
        c.b?.pause();
      } else if (c.frozen) {
        c.a.destroy();
        c.b?.destroy();
        this.conns.delete(c);
      }
    }
    if (!on) {
      for (const a of this.held) a.destroy();
      this.held.clear();
    }
  }

  /** cut every connection into this member (true) or restore (false) */
  isolate(on: boolean): void {
    this.blockAll = on;
    this.enforce();
  }

  /** cut connections coming from member `fromHex` */
  block(fromHex: string, on: boolean): void {
    if (on) this.blocked.add(fromHex);
    else this.blocked.delete(fromHex);
    this.enforce();
  }

  close(): Promise<void> {
    for (const c of this.conns) {
      c.a.destroy();
      c.b?.destroy();
    }
    this.conns.clear();
    for (const a of this.held) a.destroy();
    this.held.clear();
    return new Promise((r) => this.server.close(() => r()));
  }
}
