/**
 * Runs seeds of the simulation; `npm run simulate -- --seeds N` (exits non-zero on a violation) or `-- --seed S`
 * (replays one seed, printing its schedule: the same output every time).
 */
import { parseArgs } from "node:util";
import { Prng } from "./prng.js";
import { scenario } from "./scenario.js";
import { DEFAULT_CONFIG, type SimConfig, type Violation, World } from "./world.js";

export interface SeedResult {
  readonly seed: number;
  readonly steps: number;
  readonly violations: readonly Violation[];
  readonly trace: readonly string[];
  readonly tasks: number;
}

export async function runSeed(seed: number, config: SimConfig = DEFAULT_CONFIG): Promise<SeedResult> {
  const world = new World(seed, config);
  await world.run(scenario(world, new Prng(seed ^ 0x9e3779b9)));
  return {
    seed,
    steps: world.step,
    violations: world.violations,
    trace: world.trace,
    tasks: world.provider.tasks.length,
  };
}

/** The first failing seed among `count` from `from`, or undefined. */
export async function firstFailure(from: number, count: number, config?: SimConfig): Promise<SeedResult | undefined> {
  for (let seed = from; seed < from + count; seed++) {
    const result = await runSeed(seed, config);
    if (result.violations.length > 0) return result;
  }
  return undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { seeds: { type: "string" }, seed: { type: "string" }, from: { type: "string" } },
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
  const failed = await firstFailure(from, count);
  const ms = performance.now() - started;
  if (failed) {
    process.stdout.write(
      `seed ${failed.seed} failed: ${failed.violations.map((v) => `step ${v.step} ${v.invariant}: ${v.detail}`).join("; ")}\nreplay: npm run simulate -- --seed ${failed.seed}\n`,
    );
    process.exit(1);
  }
  process.stdout.write(`${count} seeds from ${from}: every invariant held (${(ms / 1000).toFixed(1)} s)\n`);
}
