/**
 * Runs many seeds on every core: worker threads take ranges of seeds in order, and the first failing seed is the
 * lowest one, whatever the threads' timing (every range below a failing one was handed out before it, and is waited
 * for). That seed is run again here with its schedule kept, so the answer is the same as a serial run's.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { runSeed, type SeedResult } from "./run.js";

/** Seeds a thread is given at a time: large enough that handing them out costs nothing, small enough to balance. */
const RANGE = 100;

export interface ParallelRun {
  /** The lowest failing seed, run again with its schedule, or undefined when every seed held. */
  readonly failed?: SeedResult;
  readonly threads: number;
}

export async function firstFailureParallel(
  from: number,
  count: number,
  threads = Math.min(availableParallelism(), 8),
): Promise<ParallelRun> {
  const end = from + count;
  let next = from;
  let lowest = Number.POSITIVE_INFINITY;

  const workers = Array.from({ length: threads }, () => new Worker(new URL("./shard-worker.mjs", import.meta.url)));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.on("error", reject);
            worker.on("exit", (code) => reject(new Error(`a simulation thread exited with code ${code}`)));
            worker.on("message", (message: { ready?: true; failed?: number }) => {
              if (message.failed !== undefined) lowest = Math.min(lowest, message.failed);
              // No range past a failure is handed out: every range below it already was.
              if (next >= end || next > lowest) return resolve();
              const size = Math.min(RANGE, end - next);
              worker.postMessage({ from: next, count: size });
              next += size;
            });
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return { threads, ...(Number.isFinite(lowest) ? { failed: await runSeed(lowest) } : {}) };
}
