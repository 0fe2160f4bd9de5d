/**
 * The closing line CI reads must count a file whose hooks broke: earlier, a suite that failed in beforeAll (Chromium
 * missing) left the line at "296 passed, 0 failed".
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);

it("counts a file whose beforeAll failed as a failure, not as skipped tests", async () => {
  const dir = await mkdtemp(join(tmpdir(), "summary-line-"));
  try {
    await writeFile(
      join(dir, "ok.test.ts"),
      'import { expect, it } from "vitest";\nit("passes", () => expect(1).toBe(1));\n',
    );
    await writeFile(
      join(dir, "broken.test.ts"),
      'import { beforeAll, expect, it } from "vitest";\nbeforeAll(() => { throw new Error("hook broke"); });\nit("never runs", () => expect(1).toBe(1));\n',
    );
    const reporter = new URL("../reporters/summary-line.ts", import.meta.url).pathname;
    await writeFile(
      join(dir, "vitest.config.ts"),
      `export default { test: { include: ["*.test.ts"], reporters: [${JSON.stringify(reporter)}] } };\n`,
    );
    const out = await run(
      process.execPath,
      [new URL("../../node_modules/vitest/vitest.mjs", import.meta.url).pathname, "run", "--root", dir],
      { cwd: dir },
    ).catch((e: { stdout: string }) => e);
    expect(out.stdout).toMatch(/^Tests: 1 passed, 1 failed, 1 skipped$/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
