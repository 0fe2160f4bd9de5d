import type { Row } from "./nls-short.js";

/** Prints benchmark rows as a Markdown table. */
export function printTable(rows: readonly Row[]): void {
  const w = [
    Math.max(9, ...rows.map((r) => r.name.length)),
    Math.max(5, ...rows.map((r) => r.value.length)),
    Math.max(9, ...rows.map((r) => r.reference.length)),
  ];
  const line = (a: string, b: string, c: string, d: string): string =>
    `| ${a.padEnd(w[0]!)} | ${b.padStart(w[1]!)} | ${c.padEnd(w[2]!)} | ${d.padStart(5)} |`;
  console.log(line("benchmark", "value", "reference", "ratio"));
  console.log(`|${"-".repeat(w[0]! + 2)}|${"-".repeat(w[1]! + 2)}|${"-".repeat(w[2]! + 2)}|-------|`);
  for (const r of rows) console.log(line(r.name, r.value, r.reference, r.ratio));
}
