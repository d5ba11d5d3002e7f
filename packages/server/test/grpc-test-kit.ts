// Shared helpers for the gRPC transport tests: a tiny JSON "Echo" service codec, a server on
// port 0 with cleanup, and promise wrappers around @grpc/grpc-js client calls.
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  ClientPortListener, type ClientPortListenerOptions, GrpcServer, type GrpcServerOptions,
} from '../src/grpc/index.js';

export const toJson = (m: unknown): Buffer => Buffer.from(JSON.stringify(m));
export const fromJson = (b: Uint8Array): any => JSON.parse(Buffer.from(b).toString('utf8'));
export const rawBytes = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export interface Harness {
  server: GrpcServer;
  listener: ClientPortListener;
  port: number;
  target: string;
  client: grpc.Client;
}

/** A GrpcServer behind a ClientPortListener on 127.0.0.1:0 and a grpc-js client; all closed by t.after. */
export async function startHarness(
  t: TestContext,
  register: (s: GrpcServer) => void,
  opts: { server?: GrpcServerOptions; listener?: Omit<ClientPortListenerOptions, 'grpc'>; client?: grpc.ClientOptions } = {},
): Promise<Harness> {
  const server = new GrpcServer(opts.server);
  register(server);
  const listener = new ClientPortListener({ closeGraceMs: 200, ...opts.listener, grpc: server });
  const { port } = await listener.listen();
  const target = `127.0.0.1:${port}`;
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), opts.client);
  t.after(async () => {
    client.close();
    await listener.close();
  });
  return { server, listener, port, target, client };
}

export function unary<Res = any>(
  client: grpc.Client, path: string, req: unknown, options: grpc.CallOptions = {}, metadata = new grpc.Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, toJson, fromJson, req, metadata, options, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

/** The error a call failed with (fails the test if it succeeded). */
export async function unaryError(
  client: grpc.Client, path: string, req: unknown, options: grpc.CallOptions = {},
): Promise<grpc.ServiceError> {
  try {
    await unary(client, path, req, options);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error(`${path} succeeded but an error was expected`);
}

export function collect<T>(stream: grpc.ClientReadableStream<T>): Promise<{ messages: T[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    stream.on('data', (m: T) => messages.push(m));
    stream.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
    stream.on('end', () => resolve({ messages }));
  });
}

/** Real time passing, where the time is the behaviour under test (a negative check, a handler's duration); to wait for something to happen use test/kit's waitFor. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Pki { dir: string; ca: Buffer; serverKey: Buffer; serverCert: Buffer; clientKey: Buffer; clientCert: Buffer; otherKey: Buffer; otherCert: Buffer; peerKey: Buffer; peerCert: Buffer }

/** (Caller removes `dir`.) A CA, a server certificate for 127.0.0.1/localhost, a client certificate (CN=root), and a client certificate from another CA. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'grpc-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ca = (name: string) => {
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`,
      '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`);
  };
  const leaf = (name: string, caName: string, cn: string, ext: string) => {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`,
      '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial',
      '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'ca', 'tsetcd-server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'root', 'extendedKeyUsage=clientAuth\n');
  leaf('other', 'other-ca', 'intruder', 'extendedKeyUsage=clientAuth\n');
  // a member's peer certificate: it serves the peer port and dials the other members
  leaf('peer', 'ca', 'tsetcd-peer', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  const r = (f: string) => readFileSync(join(dir, f));
  return {
    dir, ca: r('ca.crt'), serverKey: r('server.key'), serverCert: r('server.crt'), clientKey: r('client.key'),
    clientCert: r('client.crt'), otherKey: r('other.key'), otherCert: r('other.crt'), peerKey: r('peer.key'), peerCert: r('peer.crt'),
  };
}

