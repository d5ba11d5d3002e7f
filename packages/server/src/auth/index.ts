export { AuthStore, rootUser, rootRole, scryptLog2NForBcryptCost, defaultBcryptCost, minBcryptCost, maxBcryptCost, type AuthStoreOptions, type AuthApplyResult, type PermissionKind } from './auth-store.js';
export { IntervalSet, UnifiedPermissions, keyInterval, type KeyInterval } from './range-perms.js';
export { SimpleTokenProvider, newSimpleTokenPrefix, defaultTokenTtlMs, simpleTokenPrefixLetters } from './simple-token.js';
export { hashPassword, verifyPassword, defaultScryptLog2N } from './password-hash.js';
