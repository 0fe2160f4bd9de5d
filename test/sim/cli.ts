/**
 * `npm run simulate -- --seeds N [--from F] [--threads T]` runs N seeds on every core and exits non-zero on a
 * violation, printing the lowest failing seed's shortest schedule; `npm run simulate -- --seed S` replays one seed,
 * printing its schedule: the same output every time.
 */
import { parseArgs } from "node:util";
import { firstFailureParallel } from "./parallel.js";
import { runSeed, shrink } from "./run.js";

const { values } = parseArgs({
  options: {
    seeds: { type: "string" },
    seed: { type: "string" },
    from: { type: "string" },
    threads: { type: "string" },
  },
});
if (values.seed !== undefined) {
  const result = await runSeed(Number(values.seed));
  process.stdout.write(`${result.trace.join("\n")}\n`);
  process.stdout.write(
    result.violations.length
      ? `seed ${result.seed}: ${result.violations.map((v) => `step ${v.step} ${v.invariant}: ${v.detail}`).join("\n")}\n`
      : `seed ${result.seed}: ${result.steps} steps, ${result.tasks} provider tasks, every invariant held\n`,
  );
  process.exit(result.violations.length ? 1 : 0);
}
const count = Number(values.seeds ?? 1000);
const from = Number(values.from ?? 1);
const started = performance.now();
const { failed, threads } = await firstFailureParallel(
  from,
  count,
  values.threads === undefined ? undefined : Number(values.threads),
);
const ms = performance.now() - started;
if (failed) {
  const shortest = await shrink(failed.seed);
  process.stdout.write(
    `seed ${failed.seed} failed: ${failed.violations.map((v) => `step ${v.step} ${v.invariant}: ${v.detail}`).join("; ")}\n` +
      `shortest failing schedule (${shortest.faults} faults, ${shortest.trace.length} steps):\n${shortest.trace.join("\n")}\n` +
      `${shortest.violations.map((v) => `step ${v.step} ${v.invariant}: ${v.detail}`).join("\n")}\n` +
      `replay: npm run simulate -- --seed ${failed.seed}\n`,
  );
  process.exit(1);
}
process.stdout.write(
  `${count} seeds from ${from}: every invariant held (${(ms / 1000).toFixed(1)} s on ${threads} threads)\n`,
);
