// --max-concurrent-streams on the JSON gateway. etcd's gateway reaches the server through one
// gRPC connection per listener (plaintext and TLS each), so every gateway request holds one
// HTTP/2 stream of that connection while it runs: with N long-lived requests (watches) open,
// the next one waits for a stream to free up, however long that takes. Same here: a request
// waits for a slot of its listener; a client that gives up while waiting leaves the queue.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  /** Runs `start` once a slot is free; the slot is held until `res` closes. */
  run(res: Res, start: () => void): void {
    const begin = (): void => {
      this.used++;
      res.once('close', () => this.release());
      start();
    };
    if (this.used < this.max) return begin();
    const entry = (): void => {
      res.off('close', giveUp);
      if (res.destroyed || res.writableEnded) return this.next();
      begin();
    };
    const giveUp = (): void => {
      const i = this.waiting.indexOf(entry);
      if (i >= 0) this.waiting.splice(i, 1);
    };
    res.once('close', giveUp);
    this.waiting.push(entry);
  }

  private release(): void {
    this.used--;
    this.next();
  }

  private next(): void {
    if (this.used >= this.max) return;
    this.waiting.shift()?.();
  }
}

/** Per listener (local address and port) and per plaintext/TLS, like etcd's gateway connections. */
export class GatewayStreamLimit {
  private readonly byListener = new Map<string, Slots>();

  constructor(private readonly max: number) {}

  run(req: Req, res: Res, start: () => void): void {
    const s = req.socket as { localAddress?: string; localPort?: number; encrypted?: boolean } | null;
    const key = `${s?.localAddress}|${s?.localPort}|${s?.encrypted === true}`;
    let slots = this.byListener.get(key);
    if (slots === undefined) this.byListener.set(key, (slots = new Slots(this.max)));
    slots.run(res, start);
  }
}
