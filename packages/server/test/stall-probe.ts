// Measures the longest event-loop stall of this process while a labelled phase runs.
//
// A timer ticks every `intervalMs`; the gap between two ticks (minus the interval) is how long
// the loop could not run a timer. On a loaded machine the scheduler alone stretches gaps: the
// thread is runnable but waits for a CPU. Linux schedstat (/proc/self/task/<pid>/schedstat:
// nanoseconds on a CPU, nanoseconds waiting for one) tells that time apart, so each gap is also
// measured without it ("own": on a CPU, or blocked in a system call such as a synchronous fsync)
// and as the event-loop thread's CPU time alone. A long task of the process's own code shows in
// all three; a stretch the scheduler caused shows only in the wall figure. Without schedstat the
// own and CPU figures fall back to the wall figure.

import { readFileSync } from 'node:fs';

export interface PhaseStalls {
  phase: string;
  /** longest gap between ticks, minus the interval (ms, wall clock) */
  wallMs: number;
  /** longest gap minus the interval, less the time the thread waited for a CPU in it (ms) */
  ownMs: number;
  /** most CPU time the event-loop thread spent between two ticks (ms) */
  cpuMs: number;
  ticks: number;
}

const schedstatPath = `/proc/self/task/${process.pid}/schedstat`;

/** [ns on a CPU, ns runnable but waiting for a CPU] of the event-loop thread */
function threadSchedNs(): [number, number] | undefined {
  try {
    const f = readFileSync(schedstatPath, 'latin1').split(' ');
    return [Number(f[0]), Number(f[1])];
  } catch {
    return undefined;
  }
}

export class StallProbe {
  private readonly timer: NodeJS.Timeout;
  private lastWall = performance.now();
  private lastSched = threadSchedNs();
  private cur: PhaseStalls;
  private stopped = false;
  readonly phases: PhaseStalls[] = [];
  /** true when CPU and run-queue time are measured (schedstat readable) */
  readonly measuresCpu = this.lastSched !== undefined;

  constructor(readonly intervalMs = 5, firstPhase = 'start') {
    this.cur = { phase: firstPhase, wallMs: 0, ownMs: 0, cpuMs: 0, ticks: 0 };
    this.phases.push(this.cur);
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  private tick(): void {
    const wall = performance.now();
    const sched = threadSchedNs();
    const gapWall = Math.max(0, wall - this.lastWall - this.intervalMs);
    let gapOwn = gapWall;
    let gapCpu = gapWall;
    if (sched !== undefined && this.lastSched !== undefined) {
      gapCpu = (sched[0] - this.lastSched[0]) / 1e6;
      gapOwn = Math.max(0, gapWall - (sched[1] - this.lastSched[1]) / 1e6);
    }
    this.lastWall = wall;
    this.lastSched = sched;
    const p = this.cur;
    p.ticks++;
    if (gapWall > p.wallMs) p.wallMs = gapWall;
    if (gapOwn > p.ownMs) p.ownMs = gapOwn;
    if (gapCpu > p.cpuMs) p.cpuMs = gapCpu;
  }

  /** Closes the current phase (a final tick counts a stall still running) and opens the next. */
  phase(name: string): PhaseStalls {
    this.tick();
    const done = this.cur;
    this.cur = { phase: name, wallMs: 0, ownMs: 0, cpuMs: 0, ticks: 0 };
    this.phases.push(this.cur);
    return done;
  }

  /** Ends the last phase and the timer (again: no effect). */
  stop(): PhaseStalls {
    if (!this.stopped) {
      this.stopped = true;
      clearInterval(this.timer);
      this.tick();
    }
    return this.cur;
  }
}
