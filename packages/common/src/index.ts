export { mulberry32 } from './prng.js';
export { formatGoDuration, GoDurationError, goTimeQuote, parseGoDuration, parseGoDurationMs } from './go-duration.js';
export { computeClusterId, computeMemberId, idToHex } from './member-id.js';
export { prefixEnd } from './keys.js';
