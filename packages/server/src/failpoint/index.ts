export * from './failpoint.js';
export * from './names.js';
