export { mulberry32 } from './prng.js';
export { formatGoDuration, GoDurationError, goTimeQuote, parseGoDuration, parseGoDurationMs } from './go-duration.js';
export { computeClusterId, computeMemberId, idToHex } from './member-id.js';
export { prefixEnd } from './keys.js';
export { crc32c } from './crc32c.js';
export { readU64LE, writeU64LE } from './u64.js';
export { parseUrls, parseUrlsMap, UrlsError } from './urls.js';
export { GrpcCode, grpcCodeName } from './grpc-code.js';
export { EtcdError, etcdErrorNameOf, type EtcdErrorKind, type EtcdErrorName } from './etcd-errors.js';
