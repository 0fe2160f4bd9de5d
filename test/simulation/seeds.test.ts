/**
 * Seeds 301–10,000 of the simulation (test/sim), on every core: with the 300 of test/unit/simulation.test.ts, 10,000
 * seeds in `npm test`. A failure names the lowest failing seed, which `npm run simulate -- --seed S` replays.
 */
import { expect, it } from "vitest";
import { firstFailureParallel } from "../sim/parallel.js";

it("holds every invariant over seeds 301–10,000", async () => {
  const { failed } = await firstFailureParallel(301, 9700);
  expect(failed?.violations ?? [], `seed ${failed?.seed}: npm run simulate -- --seed ${failed?.seed}`).toEqual([]);
}, 600_000);
