// etcd's v2 errors (etcdserver/api/v2error): code, message, cause, index, the HTTP status each
// code answers with, and the JSON body etcd writes for them.

import { goJsonString } from '@tsetcd/common';

export const V2Code = {
  KeyNotFound: 100,
  TestFailed: 101,
  NotFile: 102,
  NotDir: 104,
  NodeExist: 105,
  RootROnly: 107,
  DirNotEmpty: 108,
  Unauthorized: 110,
  PrevValueRequired: 201,
  TTLNaN: 202,
  IndexNaN: 203,
  InvalidField: 209,
  InvalidForm: 210,
  RefreshValue: 211,
  RefreshTTLRequired: 212,
  RaftInternal: 300,
  LeaderElect: 301,
  WatcherCleared: 400,
  EventIndexCleared: 401,
} as const;

const messages: Record<number, string> = {
  100: 'Key not found',
  101: 'Compare failed',
  102: 'Not a file',
  103: 'Reached the max number of peers in the cluster',
  104: 'Not a directory',
  105: 'Key already exists',
  106: 'The prefix of given key is a keyword in etcd',
  107: 'Root is read only',
  108: 'Directory not empty',
  109: 'Peer address has existed',
  110: 'The request requires user authentication',
  200: 'Value is Required in POST form',
  201: 'PrevValue is Required in POST form',
  202: 'The given TTL in POST form is not a number',
  203: 'The given index in POST form is not a number',
  204: 'Value or TTL is required in POST form',
  205: 'The given timeout in POST form is not a number',
  206: 'Name is required in POST form',
  207: 'Index or value is required',
  208: 'Index and value cannot both be specified',
  209: 'Invalid field',
  210: 'Invalid POST form',
  211: 'Value provided on refresh',
  212: 'A TTL must be provided on refresh',
  300: 'Raft Internal Error',
  301: 'During Leader Election',
  400: 'watcher is cleared due to etcd recovery',
  401: 'The event in requested index is outdated and cleared',
  402: 'Standby Internal Error',
  403: 'Invalid active size',
  404: 'Standby remove delay',
  500: 'Client Internal Error',
};

const statuses: Record<number, number> = { 100: 404, 102: 403, 108: 403, 110: 401, 101: 412, 105: 412, 300: 500, 301: 500 };

/** A v2 error (etcd's v2error.Error); `cause` may be trimmed of the keys prefix before it is written. */
export class V2Error extends Error {
  constructor(
    readonly errorCode: number,
    public override cause: string,
    public index: number,
  ) {
    // an answer, not a fault: no stack trace (capturing one cost more than the request's work)
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${messages[errorCode] ?? ''} (${cause})`);
    Error.stackTraceLimit = limit;
  }

  get errorMessage(): string {
    return messages[this.errorCode] ?? '';
  }

  /** the HTTP status etcd answers with (400 for codes without their own) */
  get status(): number {
    return statuses[this.errorCode] ?? 400;
  }

  /** etcd's JSON body (the cause omitted when empty), with its trailing newline */
  toJson(): string {
    const cause = this.cause === '' ? '' : `,"cause":${goJsonString(this.cause)}`;
    return `{"errorCode":${this.errorCode},"message":${goJsonString(this.errorMessage)}${cause},"index":${this.index}}\n`;
  }
}

export function v2Error(code: number, cause: string, index = 0): V2Error {
  return new V2Error(code, cause, index);
}
