// Password hashing. etcd uses bcrypt; node has no bcrypt, so tsetcd uses scrypt (node:crypto,
// computed on libuv's thread pool). The stored form names its parameters so they can change:
//   scrypt$<log2 N>$<r>$<p>$<salt base64>$<hash base64>

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost as log2(N); 14 (N = 16384) costs tens of milliseconds, like bcrypt cost 10. */
export const defaultScryptLog2N = 14;
const scryptBlockSize = 8;
const scryptParallelism = 1;
const saltBytes = 16;
const hashBytes = 32;
const scryptMaxMemBytes = 64 * 1024 * 1024;

function scryptAsync(password: string, salt: Buffer, log2N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, hashBytes, { N: 2 ** log2N, r, p, maxmem: scryptMaxMemBytes }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, log2N = defaultScryptLog2N): Promise<string> {
  const salt = randomBytes(saltBytes);
  const key = await scryptAsync(password, salt, log2N, scryptBlockSize, scryptParallelism);
  return `scrypt$${log2N}$${scryptBlockSize}$${scryptParallelism}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` matches the stored hash; a malformed stored value never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![log2N, r, p].every((x) => Number.isInteger(x) && x > 0 && x < 32)) return false;
  const salt = Buffer.from(parts[4], 'base64');
  const want = Buffer.from(parts[5], 'base64');
  if (want.length !== hashBytes) return false;
  const got = await scryptAsync(password, salt, log2N, r, p);
  return timingSafeEqual(got, want);
}
