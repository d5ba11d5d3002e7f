export * from './snapshotter.js';
export * from './errors.js';
export { snapFileName, parseSnapFileName } from './snap-file.js';
