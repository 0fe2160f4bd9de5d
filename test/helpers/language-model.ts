/**
 * A simulated language model for live-speech tests: a text written as a model streams it, in fragments of 1 to 5
 * characters (word pieces included) at 20 to 50 ms intervals, the same for the same seed.
 */
import { random } from "./book-fixture.js";

export interface Fragment {
  readonly text: string;
  /** How long after the previous fragment this one comes. */
  readonly delayMs: number;
}

export function fragmentsOf(text: string, seed: number): Fragment[] {
  const next = random(seed);
  const chars = Array.from(text);
  const out: Fragment[] = [];
  for (let i = 0; i < chars.length; ) {
    const n = 1 + Math.floor(next() * 5);
    out.push({ text: chars.slice(i, i + n).join(""), delayMs: 20 + Math.floor(next() * 31) });
    i += n;
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
