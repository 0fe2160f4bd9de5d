// A worker thread of the parallel simulation (test/sim/parallel.ts): it runs the ranges of seeds it is sent, with no
// schedule kept, and answers each with its first failing seed. It is plain JavaScript because a worker thread does not
// inherit the TypeScript loader of the thread that starts it: it registers tsx's itself, then loads the simulation.
import { parentPort } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { DEFAULT_CONFIG } = await import("./world.ts");
const { runSeed } = await import("./run.ts");

parentPort.on("message", async ({ from, count }) => {
  for (let seed = from; seed < from + count; seed++) {
    const result = await runSeed(seed, { ...DEFAULT_CONFIG, trace: false });
    if (result.violations.length > 0) return parentPort.postMessage({ from, failed: seed });
  }
  parentPort.postMessage({ from });
});
parentPort.postMessage({ ready: true });
