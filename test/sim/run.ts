/** Runs seeds of the simulation, one at a time in this thread (test/sim/parallel.ts runs them on every core). */
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

/**
 * One seed in eight runs without faults (its other choices kept), so the "prompt" invariant (work ends by its own steps
 * when nothing failed, before reconcile's first tick) is checked often.
 */
function configFor(seed: number, config: SimConfig): SimConfig {
  return seed % 8 === 0 && config.faultBudget === undefined ? { ...config, faultBudget: 0 } : config;
}

export async function runSeed(seed: number, config: SimConfig = DEFAULT_CONFIG): Promise<SeedResult> {
  const world = new World(seed, configFor(seed, config));
  await world.run(scenario(world, new Prng(seed ^ 0x9e3779b9)));
  return {
    seed,
    steps: world.step,
    violations: world.violations,
    trace: world.trace,
    tasks: world.provider.tasks.length,
  };
}

/**
 * The shortest failing schedule of a failing seed: the fewest of its faults that still break an invariant (the same
 * seed, every other choice kept), and its steps up to the first violation.
 */
export async function shrink(
  seed: number,
  config: SimConfig = DEFAULT_CONFIG,
): Promise<SeedResult & { faults: number }> {
  const full = new World(seed, configFor(seed, config));
  await full.run(scenario(full, new Prng(seed ^ 0x9e3779b9)));
  for (let budget = 0; budget < full.faults; budget++) {
    const result = await runSeed(seed, { ...config, faultBudget: budget });
    if (result.violations.length > 0) return { ...cut(result), faults: budget };
  }
  return { ...cut(await runSeed(seed, config)), faults: full.faults };
}

function cut(result: SeedResult): SeedResult {
  const first = Math.min(...result.violations.map((v) => v.step));
  return { ...result, trace: result.trace.filter((line) => Number(line.split(" ")[0]) <= first) };
}

/** The first failing seed among `count` from `from`, or undefined. */
export async function firstFailure(from: number, count: number, config?: SimConfig): Promise<SeedResult | undefined> {
  for (let seed = from; seed < from + count; seed++) {
    const quick = await runSeed(seed, { ...(config ?? DEFAULT_CONFIG), trace: false });
    // The same seed again, its schedule kept: the run is the same, step for step.
    if (quick.violations.length > 0) return runSeed(seed, config);
  }
  return undefined;
}
