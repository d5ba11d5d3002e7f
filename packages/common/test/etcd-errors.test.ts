// The one error table: each message once, every gRPC code by name, and (where etcd's Go sources
// are installed: golang-etcd-server-dev) every status of etcd 3.4's rpctypes/error.go in it with
// the same code and text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { EtcdError, etcdErrorNameOf } from '../src/etcd-errors.js';
import { GrpcCode, grpcCodeName } from '../src/grpc-code.js';

const rpctypesSource = '/usr/share/gocode/src/go.etcd.io/etcd/etcdserver/api/v3rpc/rpctypes/error.go';

test('error table: one entry per message, found again by its message', () => {
  const messages = Object.values(EtcdError).map((e) => e.message);
  assert.equal(new Set(messages).size, messages.length);
  for (const [name, kind] of Object.entries(EtcdError)) {
    assert.equal(etcdErrorNameOf(kind.message), name);
    assert.match(kind.code, /^ERR_[A-Z_]+$/);
    assert.ok(Object.values(GrpcCode).includes(kind.grpcCode), `${name}: a gRPC code`);
  }
  assert.equal(etcdErrorNameOf('etcdserver: no such thing'), undefined);
});

test("gRPC codes: Go's names and numbers", () => {
  assert.equal(GrpcCode.Unavailable, 14);
  assert.equal(grpcCodeName(GrpcCode.DeadlineExceeded), 'DeadlineExceeded');
  assert.equal(grpcCodeName(0), 'OK');
  assert.equal(grpcCodeName(17), 'Code(17)');
});

test("error table: etcd's rpctypes statuses, same code and text", () => {
  if (!existsSync(rpctypesSource)) {
    assert.ok(Object.keys(EtcdError).length >= 51, 'the table holds rpctypes at least');
    return;
  }
  const go = readFileSync(rpctypesSource, 'utf8');
  const statuses = [...go.matchAll(/status\.New\(codes\.(\w+), "([^"]+)"\)/g)].map((m) => ({ code: m[1], message: m[2] }));
  assert.ok(statuses.length > 40);
  for (const s of statuses) {
    const name = etcdErrorNameOf(s.message);
    assert.ok(name !== undefined, `missing: ${s.message}`);
    assert.equal(grpcCodeName(EtcdError[name].grpcCode), s.code, s.message);
  }
});
