/** `npm run bench`: every benchmark, one table of measured value, reference and ratio. */
import { benchNlsShort, type Row } from "./nls-short.js";

const rows: Row[] = [...(await benchNlsShort())];
const widths = [Math.max(...rows.map((r) => r.name.length), 9), Math.max(...rows.map((r) => r.value.length), 5), Math.max(...rows.map((r) => r.reference.length), 9)];
const line = (a: string, b: string, c: string, d: string): string => `| ${a.padEnd(widths[0]!)} | ${b.padStart(widths[1]!)} | ${c.padEnd(widths[2]!)} | ${d.padStart(5)} |`;
console.log(line("benchmark", "value", "reference", "ratio"));
console.log(`|${"-".repeat(widths[0]! + 2)}|${"-".repeat(widths[1]! + 2)}|${"-".repeat(widths[2]! + 2)}|-------|`);
for (const r of rows) console.log(line(r.name, r.value, r.reference, r.ratio));
