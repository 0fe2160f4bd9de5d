// A worker thread of the parallel simulation (test/sim/parallel.ts): it runs the ranges of seeds it is sent, with no
// schedule kept, and answers each with its first failing seed. It is plain JavaScript because a worker thread does not
// inherit the TypeScript loader of the thread that starts it: it registers tsx's itself, then loads the simulation.
import { parentPort } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { DEFAULT_CONFIG } = await import("./world.ts");
const { firstFailure } = await import("./run.ts");

parentPort.on("message", async ({ from, count }) => {
  // No schedule kept here: the main thread runs the lowest failing seed again with it.
  const failed = await firstFailure(from, count, { ...DEFAULT_CONFIG, trace: false });
  parentPort.postMessage(failed ? { from, failed: failed.seed } : { from });
});
parentPort.postMessage({ ready: true });
