import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { mp3DurationMs } from "../../lib/audio/mp3.js";

const run = promisify(execFile);

describe("the README quick start", () => {
  it("`npm start` synthesizes real speech into the local OSS (run once, on ephemeral ports)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "quick-start-"));
    try {
      const { stdout } = await run(process.execPath, ["--import", "tsx", "infra/local/start.ts", "--once", "--port-base", "0", "--data-dir", dir], { timeout: 60_000 });
      expect(stdout).toMatch(/Speech written to .*hello\.mp3/);
      const mp3 = await readFile(join(dir, "hello.mp3"));
      expect(mp3DurationMs(mp3)).toBeGreaterThan(3000);
      const line = stdout.split("\n").find((l) => l.includes('"msg":"synthesized"'))!;
      expect(JSON.parse(line)).toMatchObject({ key: "output/hello.mp3", bytes: mp3.length });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
