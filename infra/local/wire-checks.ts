/** The number checks the emulators' own readings of the vendors' documents share (the `*-wire.ts` files). */

/** A whole number from `lo` to `hi`. */
export const intIn = (v: unknown, lo: number, hi: number): v is number =>
  Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;

/** Any number from `lo` to `hi`. */
export const between = (v: unknown, lo: number, hi: number): v is number => typeof v === "number" && v >= lo && v <= hi;
