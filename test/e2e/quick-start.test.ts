import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
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
      // The callback and webhook secret is printed, and kept in the data directory across a restart.
      const secret = /CALLBACK_SECRET (\S+)/.exec(stdout)?.[1];
      expect(secret).toMatch(/^[\w-]{32}$/);
      const again = await run(
        process.execPath,
        ["--import", "tsx", "infra/local/start.ts", "--once", "--port-base", "0", "--data-dir", dir],
        { timeout: 60_000 },
      );
      expect(/CALLBACK_SECRET (\S+)/.exec(again.stdout)?.[1]).toBe(secret);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("says in one line which port is busy and what to do, instead of a stack trace", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as AddressInfo).port;
    const dir = await mkdtemp(join(tmpdir(), "quick-start-busy-"));
    try {
      const failed = await run(
        process.execPath,
        ["--import", "tsx", "infra/local/start.ts", "--once", "--port-base", String(port), "--data-dir", dir],
        { timeout: 60_000 },
      ).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr.trim()).toMatch(
        new RegExp(`^the local cloud: .*${port} is already in use\\. Stop what uses it, or start on other ports`),
      );
    } finally {
      busy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
