// The event loop's longest stall (wall clock, and the event-loop thread's CPU time in it) while a
// member loaded with N keys serves a client and runs a snapshot, HashKV, Hash, a compaction, a
// defragment and a restart (packages/server/test/stall-scenario.ts).
// Run: node --import tsx bench/event-loop-stalls.ts [--fsync] [keys...]   (default 200000; without
// --fsync the member runs with --unsafe-no-fsync)

import { runStallScenario } from '../packages/server/test/stall-scenario.js';

const args = process.argv.slice(2);
const fsync = args.includes('--fsync');
const counts = args.filter((a) => a !== '--fsync').map(Number);
for (const keys of counts.length > 0 ? counts : [200_000]) {
  console.log(`\n${keys} keys (each written twice)${fsync ? ', fsync on' : ''}`);
  console.log('phase        wall ms    own ms    cpu ms   duration');
  let t = performance.now();
  const r = await runStallScenario({
    keys,
    fsync,
    onPhase: (p) => {
      const now = performance.now();
      console.log(`${p.phase.padEnd(12)} ${p.wallMs.toFixed(1).padStart(7)} ${p.ownMs.toFixed(1).padStart(9)} ${p.cpuMs.toFixed(1).padStart(9)} ${((now - t) / 1000).toFixed(1).padStart(8)} s`);
      t = now;
    },
  });
  console.log(`client ops ${r.clientOps}, errors ${r.clientErrors}, snapshot ${(r.snapshotBytes / 1048576).toFixed(1)} MiB, hash before/after restart ${r.hashBefore}/${r.hashAfterRestart}, cpu measured: ${r.measuresCpu}`);
}
