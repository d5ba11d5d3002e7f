// @tsetcd/common: etcd's formats and helpers shared by the server, the client, tsetcdctl and
// @tsetcd/rpc (see README.md for the map).

export { mulberry32 } from './prng.js';
export { formatGoDuration, GoDurationError, goTimeQuote, parseGoDuration, parseGoDurationMs } from './go-duration.js';
export { computeClusterId, computeMemberId, idToHex } from './member-id.js';
export { prefixEnd } from './keys.js';
export { crc32c } from './crc32c.js';
export { readU64LE, writeU64LE } from './u64.js';
export { parseUrls, parseUrlsMap, UrlsError } from './urls.js';
export { GrpcCode, grpcCodeName } from './grpc-code.js';
export { EtcdError, etcdErrorNameOf, type EtcdErrorKind, type EtcdErrorName } from './etcd-errors.js';
export * from './bolt-format.js';
export { BoltReader, BoltReadError, looksLikeBolt, type BoltEntry, type BoltMeta } from './bolt-reader.js';
export { bigVarintSize, decodePbFields, encodeVarint, readVarint, varintSize, writeBigVarintAt, writeVarintAt, pbBytes, pbBytesField, pbUint, pbVarintField, ProtobufWireError, type PbFields } from './protobuf-wire.js';
export { EtcdWalError, etcdWalRecords, EtcdWalRecordType, EtcdWalWriter } from './etcd-wal.js';
export { decodeUtf8Rune, goEscapeRune, goQuote, isGoPrint } from './go-quote.js';
export { goJsonString } from './go-json.js';
export { etcdMemberJson, type EtcdMemberFields } from './etcd-member-json.js';
export { readUpTo, type BoundedBody, type BoundedReadOptions } from './bounded-read.js';
