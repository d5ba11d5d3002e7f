// Soak: runs many simulation seeds and reports failures with their replay command.
//   npm run soak:raft                          20000 seeds from 1
//   node --import tsx packages/raft/test/soak.ts --seeds 5000 --from 100000
//   SOAK_SEEDS=... SOAK_FROM=... also work. Exits 1 if any seed fails.
import { runSeed } from './sim/simulation.js';

function arg(name: string, env: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return Number(process.argv[i + 1]);
  if (process.env[env] !== undefined) return Number(process.env[env]);
  return dflt;
}

const seeds = arg('seeds', 'SOAK_SEEDS', 20000);
const from = arg('from', 'SOAK_FROM', 1);
const t0 = performance.now();
const failures: string[] = [];
let ticks = 0;
let committed = 0;
for (let seed = from; seed < from + seeds; seed++) {
  try {
    const r = runSeed(seed);
    ticks += r.ticks;
    committed += r.committed;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    failures.push(msg);
    console.error(msg);
  }
  if ((seed - from + 1) % 1000 === 0) {
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`${seed - from + 1}/${seeds} seeds, ${failures.length} failed, ${s}s`);
  }
}
const secs = (performance.now() - t0) / 1000;
console.log(`soak: ${seeds} seeds (${from}..${from + seeds - 1}), ${failures.length} failed, ${ticks} ticks, ${committed} proposals committed, ${secs.toFixed(1)}s`);
process.exit(failures.length > 0 ? 1 : 0);
