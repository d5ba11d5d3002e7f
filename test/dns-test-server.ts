// A tiny authoritative DNS server on 127.0.0.1 (UDP) for SRV discovery tests: answers SRV
// queries from a table, NXDOMAIN for anything else. tsetcd is pointed at it with
// TSETCD_DNS_SERVER=127.0.0.1:<port>.

import * as dgram from 'node:dgram';

export interface SrvAnswer {
  priority?: number;
  weight?: number;
  port: number;
  target: string;
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter((p) => p !== '');
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.of(p.length), Buffer.from(p, 'ascii')])), Buffer.of(0)]);
}

function readName(msg: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  for (;;) {
    const n = msg[off];
    if (n === undefined) throw new Error('truncated name');
    if (n === 0) return { name: labels.join('.'), end: off + 1 };
    labels.push(msg.toString('ascii', off + 1, off + 1 + n));
    off += 1 + n;
  }
}

export class DnsTestServer {
  private readonly sock = dgram.createSocket('udp4');
  /** lower-case names (no trailing dot) to SRV answers */
  readonly srv = new Map<string, SrvAnswer[]>();
  readonly queries: string[] = [];
  port = 0;

  async start(): Promise<string> {
    this.sock.on('message', (msg, rinfo) => {
      try {
        const reply = this.answer(msg);
        this.sock.send(reply, rinfo.port, rinfo.address);
      } catch {
        // malformed query: no answer
      }
    });
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    this.port = this.sock.address().port;
    return `127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.sock.close(() => r()));
  }

  private answer(q: Buffer): Buffer {
    const id = q.readUInt16BE(0);
    const { name, end } = readName(q, 12);
    const qtype = q.readUInt16BE(end);
    const question = q.subarray(12, end + 4);
    this.queries.push(`${name}/${qtype}`);
    const answers = qtype === 33 ? this.srv.get(name.toLowerCase()) : undefined;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    // QR, AA, RD copied; RA; rcode 0 or 3 (NXDOMAIN)
    header.writeUInt16BE(0x8400 | (q.readUInt16BE(2) & 0x0100) | 0x0080 | (answers ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers?.length ?? 0, 6);
    const rrs = (answers ?? []).map((a) => {
      const target = encodeName(a.target);
      const rdata = Buffer.alloc(6);
      rdata.writeUInt16BE(a.priority ?? 0, 0);
      rdata.writeUInt16BE(a.weight ?? 0, 2);
      rdata.writeUInt16BE(a.port, 4);
      const fixed = Buffer.alloc(12);
      fixed.writeUInt16BE(0xc00c, 0); // the question's name
      fixed.writeUInt16BE(33, 2);
      fixed.writeUInt16BE(1, 4);
      fixed.writeUInt32BE(60, 6);
      fixed.writeUInt16BE(6 + target.length, 10);
      return Buffer.concat([fixed, rdata, target]);
    });
    return Buffer.concat([header, question, ...rrs]);
  }
}
