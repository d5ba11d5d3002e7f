export { AuthStore, createTokenProvider, validateAuthTokenSpec, rootUser, rootRole, scryptLog2NForBcryptCost, defaultBcryptCost, minBcryptCost, maxBcryptCost, type AuthStoreOptions, type AuthApplyResult, type PermissionKind } from './auth-store.js';
export { IntervalSet, UnifiedPermissions, keyInterval, type KeyInterval } from './range-perms.js';
export { SimpleTokenProvider, newSimpleTokenPrefix, defaultTokenTtlMs, simpleTokenPrefixLetters } from './simple-token.js';
export { hashPassword, verifyPassword, defaultScryptLog2N } from './password-hash.js';
export { JwtTokenProvider, parseJwtOptions, defaultJwtTtlMs, type JwtOptions } from './jwt-token.js';
export type { TokenProvider, TokenInfo } from './token-provider.js';
export { AuthOptionsError } from './errors.js';
export { runAsCaller, currentCaller, type Caller } from './caller-context.js';
export { RequestPermissions, type LeaseKeys } from './request-permissions.js';
