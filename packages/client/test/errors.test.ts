import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import {
  CompactedError,
  DeadlineExceededError,
  EtcdServerError,
  GrpcError,
  InvalidAuthTokenError,
  LeaderChangedError,
  NoSpaceError,
  UnavailableError,
  isNeverSent,
  serverErrorFromMessage,
  toClientError,
} from '../src/index.js';
import { parseEndpoints } from '../src/endpoint-pool.js';
import { rangeEndFor } from '../src/bytes.js';

const grpcErr = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: undefined });

test('etcd messages map to typed errors that keep the message and gRPC code', () => {
  const cases: Array<[number, string, new (...a: never[]) => Error, string]> = [
    [status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted', CompactedError, 'ETCD_ERR_COMPACTED'],
    [status.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded', NoSpaceError, 'ETCD_ERR_NO_SPACE'],
    [status.UNAUTHENTICATED, 'etcdserver: invalid auth token', InvalidAuthTokenError, 'ETCD_ERR_INVALID_AUTH_TOKEN'],
    [status.UNAVAILABLE, 'etcdserver: leader changed', LeaderChangedError, 'ETCD_ERR_LEADER_CHANGED'],
  ];
  for (const [code, msg, cls, stable] of cases) {
    const e = toClientError(grpcErr(code, msg));
    assert.ok(e instanceof cls, msg);
    assert.ok(e instanceof EtcdServerError);
    assert.equal(e.message, msg);
    assert.equal(e.grpcCode, code);
    assert.equal(e.code, stable);
  }
  assert.ok(serverErrorFromMessage('etcdserver: key is not provided') !== undefined);
  assert.equal(serverErrorFromMessage('something else'), undefined);
  assert.ok(toClientError(grpcErr(status.UNAVAILABLE, 'Connection dropped')) instanceof UnavailableError);
  assert.ok(toClientError(grpcErr(status.DEADLINE_EXCEEDED, 'Deadline exceeded')) instanceof DeadlineExceededError);
  const other = toClientError(grpcErr(status.INTERNAL, 'boom'));
  assert.ok(other instanceof GrpcError);
  assert.equal(other.code, 'ETCD_ERR_GRPC');
});

test('only failures before sending count as never sent (safe to resend writes)', () => {
  assert.equal(isNeverSent(toClientError(grpcErr(status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED'))), true);
  assert.equal(isNeverSent(grpcErr(status.UNAVAILABLE, 'Channel closed before call started')), true);
  assert.equal(isNeverSent(grpcErr(status.UNAVAILABLE, 'Connection dropped')), false);
  assert.equal(isNeverSent(grpcErr(status.UNAVAILABLE, 'etcdserver: leader changed')), false);
  assert.equal(isNeverSent(grpcErr(status.INTERNAL, 'No connection established')), false);
});

test('endpoint and range helpers', () => {
  assert.deepEqual(parseEndpoints('http://a:1, http://b:2,'), ['http://a:1', 'http://b:2']);
  assert.throws(() => parseEndpoints([]), { code: 'ETCD_ERR_INVALID_ARGUMENT' });
  assert.deepEqual(rangeEndFor('', { prefix: true }), Buffer.from([0]));
  assert.deepEqual(rangeEndFor('a', { fromKey: true }), Buffer.from([0]));
  assert.deepEqual(rangeEndFor('a', {}), Buffer.alloc(0));
  assert.throws(() => rangeEndFor('a', { prefix: true, rangeEnd: 'b' }), { code: 'ETCD_ERR_INVALID_ARGUMENT' });
});
