export { mulberry32 } from './prng.js';
