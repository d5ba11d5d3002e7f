export * from './wal.js';
export * from './errors.js';
export { crc32c } from '@tsetcd/common';
