// The main raft test: deterministic simulations of 3- and 5-node clusters under faults.
//   SEED=1234 node --import tsx --test packages/raft/test/sim.test.ts   replays one seed
//   SIM_SEEDS=2000 ...                                                  runs more seeds
// Longer runs: npm run soak:raft (packages/raft/test/soak.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeed, type SimResult } from './sim/simulation.js';

const SEEDS = Number(process.env.SIM_SEEDS ?? 500);
const BATCHES = 5;

if (process.env.SEED !== undefined) {
  test(`simulation seed ${process.env.SEED}`, () => {
    const r = runSeed(Number(process.env.SEED));
    console.log(JSON.stringify(r));
  });
} else {
  const all: SimResult[] = [];
  const per = Math.ceil(SEEDS / BATCHES);
  for (let b = 0; b < BATCHES; b++) {
    const lo = 1 + b * per;
    const hi = Math.min(SEEDS, lo + per - 1);
    test(`simulation seeds ${lo}..${hi} (mixed faults, safety + liveness)`, () => {
      for (let seed = lo; seed <= hi; seed++) all.push(runSeed(seed)); // throws with a replay command
    });
  }
  test('the simulations exercised what they claim to', () => {
    assert.equal(all.length, SEEDS);
    const sum = (f: (r: SimResult) => number) => all.reduce((a, r) => a + f(r), 0);
    assert.ok(all.some((r) => r.nodes === 3) && all.some((r) => r.nodes === 5), 'both cluster sizes');
    assert.ok(sum((r) => r.crashes) > SEEDS, 'crashes happened');
    assert.ok(sum((r) => r.snapshotsInstalled) > SEEDS / 5, 'followers installed snapshots');
    assert.ok(sum((r) => r.committed) > sum((r) => r.proposals) / 3, 'most proposals committed');
    assert.ok(sum((r) => r.reads) > SEEDS, 'reads answered');
    assert.ok(sum((r) => r.leaders) > 2 * SEEDS, 'several leaders per run');
    assert.ok(sum((r) => r.confChanges) > SEEDS / 5, 'membership changed');
  });
}
