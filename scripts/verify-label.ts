/**
 * `npm run verify-label -- <file>`: checks offline that an audio file carries its AI-generated-content label (an
 * MP3's ID3v2 tag, a WAV's INFO chunk, or the `.aigc.json` beside raw PCM) and prints it. Exit 0 with the label, 1
 * without one, 2 when the file cannot be read.
 */
import { existsSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { AigcLabelSchema } from "../lib/audio/aigc-label.js";
import { readLabel } from "../lib/audio/label-container.js";
import { labelSidecarKey } from "../lib/jobs/job-label.js";

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: npm run verify-label -- <audio file>\n");
  process.exit(2);
}
if (!existsSync(file)) {
  process.stderr.write(`verify-label: ${file} does not exist\n`);
  process.exit(2);
}
const handle = await open(file);
const head = Buffer.alloc(64 * 1024);
const { bytesRead } = await handle.read(head, 0, head.length, 0);
await handle.close();
let label = readLabel(head.subarray(0, bytesRead));
let from = "the file's own tag";
const sidecar = labelSidecarKey(file);
if (!label && existsSync(sidecar)) {
  const parsed = JSON.parse(await readFile(sidecar, "utf8")) as { aigc?: unknown; synthesis?: unknown };
  const aigc = AigcLabelSchema.safeParse(parsed.aigc);
  if (aigc.success) label = { aigc: aigc.data, synthesis: (parsed.synthesis ?? {}) as never };
  from = sidecar;
}
if (!label) {
  process.stderr.write(
    `verify-label: ${file} carries no AIGC label (no ID3v2 TXXX:AIGC, no WAV INFO, no ${sidecar})\n`,
  );
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ file, from, ...label }, null, 2)}\n`);
