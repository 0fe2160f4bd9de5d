/** Seeds 2726–5150 of the simulation (test/sim): with test/unit/simulation.test.ts, 10,000 seeds in `npm test`. */
import { expect, it } from "vitest";
import { firstFailure } from "../sim/run.js";

it("holds every invariant over seeds 2726–5150", async () => {
  const failed = await firstFailure(2726, 2425);
  expect(failed?.violations ?? [], `seed ${failed?.seed}: npm run simulate -- --seed ${failed?.seed}`).toEqual([]);
}, 600_000);
