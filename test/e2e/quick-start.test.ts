import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { mp3DurationMs } from "../../lib/audio/mp3.js";

const run = promisify(execFile);

describe("the README quick start", () => {
  it("`npm start` runs the functions of s.yaml on the local cloud and synthesizes real speech (once, on ephemeral ports)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "quick-start-"));
    try {
      const { stdout } = await run(
        process.execPath,
        ["--import", "tsx", "infra/local/start.ts", "--once", "--port-base", "0", "--data-dir", dir],
        { timeout: 60_000 },
      );
      expect(stdout).toMatch(/Speech written to .*hello\.mp3/);
      const mp3 = await readFile(join(dir, "hello.mp3"));
      expect(mp3DurationMs(mp3)).toBeGreaterThan(3000);
      const line = stdout.split("\n").find((l) => l.includes('"msg":"synthesized"'))!;
      expect(JSON.parse(line)).toMatchObject({ bytes: mp3.length, cache: expect.stringMatching(/hit|miss/) });
      expect(stdout).toMatch(/Playground: +http:\/\/127\.0\.0\.1:\d+\//);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
