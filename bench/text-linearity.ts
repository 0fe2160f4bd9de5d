/**
 * The text layer's time against its input's size, on inputs that made earlier versions quadratic: a problem every few
 * bytes (each positioned by a rescan from 0), a bare '&' with no ';' after it, deep nesting whose text was copied up
 * the stack. 16x the input should take about 16x the time (quadratic: about 256x). Timed here, not in a unit test: a
 * busy machine moves a time, never an operation count. The small and large inputs are interleaved, fastest of 7 each,
 * and the row says the worst ratio of all the inputs. `npm run bench:text` runs this alone and fails above 64x.
 */
import { InputError } from "../lib/errors.js";
import { chunkText } from "../lib/text/index.js";
import { validateSsml } from "../lib/text/ssml.js";
import type { Row } from "./nls-short.js";

export const ADVERSARIES: Record<string, (n: number) => string> = {
  "bare ampersands": (n) => `<speak>${"a&".repeat(n)}</speak>`,
  "bare ampersands over many lines": (n) => `<speak>${"&\n".repeat(n)}</speak>`,
  "unknown tags": (n) => `<speak>${"<x/>".repeat(n)}</speak>`,
  "deep nesting": (n) => `<speak>${'<phoneme alphabet="py" ph="a1">字'.repeat(n)}${"</phoneme>".repeat(n)}</speak>`,
  "unclosed '<'": (n) => `<speak>${"<".repeat(n)}</speak>`,
  "unterminated attributes": (n) => `<speak>${'<break time="'.repeat(n)}</speak>`,
};

/** The worst ratio is linear's 16 plus noise; quadratic would be about 256. */
export const LINEAR_LIMIT = 64;

function ratioOf(small: () => void, large: () => void): number {
  let a = Number.POSITIVE_INFINITY;
  let b = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 7; i++) {
    let t0 = performance.now();
    small();
    a = Math.min(a, performance.now() - t0);
    t0 = performance.now();
    large();
    b = Math.min(b, performance.now() - t0);
  }
  // Below a few ms the clock is noise: a floor is added to both.
  return (b + 2) / (a + 2);
}

const onlyInputError = (run: () => unknown): void => {
  try {
    run();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
  }
};

export function measureTextLinearity(): Array<{ name: string; ratio: number }> {
  const out: Array<{ name: string; ratio: number }> = [];
  for (const [name, make] of Object.entries(ADVERSARIES)) {
    const small = make(2_500);
    const large = make(40_000);
    out.push({
      name: `validateSsml: ${name}`,
      ratio: ratioOf(
        () => validateSsml(small, { flavor: "nls" }),
        () => validateSsml(large, { flavor: "nls" }),
      ),
    });
    out.push({
      name: `chunkText: ${name}`,
      ratio: ratioOf(
        () => onlyInputError(() => chunkText(small, { max: 300 })),
        () => onlyInputError(() => chunkText(large, { max: 300 })),
      ),
    });
  }
  return out;
}

export async function benchTextLinearity(): Promise<Row[]> {
  const results = measureTextLinearity();
  const worst = results.reduce((w, r) => (r.ratio > w.ratio ? r : w));
  return [
    {
      name: "text layer, 16x input (worst of 12 adversarial inputs), CPU-bound",
      value: `${worst.ratio.toFixed(1)}x`,
      reference: `linear 16x, quadratic ~256x (${worst.name})`,
      ratio: (worst.ratio / 16).toFixed(2),
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = measureTextLinearity();
  for (const r of results) console.log(`${r.ratio.toFixed(1).padStart(6)}x  ${r.name}`);
  const over = results.filter((r) => r.ratio >= LINEAR_LIMIT);
  if (over.length) {
    console.error(`over ${LINEAR_LIMIT}x (not linear): ${over.map((r) => r.name).join(", ")}`);
    process.exit(1);
  }
}
