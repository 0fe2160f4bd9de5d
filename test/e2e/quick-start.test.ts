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
      // --once has stopped everything: no address that would not answer is printed.
      expect(stdout).toMatch(/Stopped \(--once\)/);
      expect(stdout).not.toMatch(/Playground:|Try it:/);
      // The callback and webhook secret is kept in the data directory across a restart.
      const secret = (await readFile(join(dir, "callback-secret"), "utf8")).trim();
      expect(secret).toMatch(/^[\w-]{32}$/);
      // Settings exported in the shell reach the functions as s deploy would pass them, and are named; the local
      // cloud's own endpoints and bucket are kept over the shell's, and that is said too.
      const again = await run(
        process.execPath,
        ["--import", "tsx", "infra/local/start.ts", "--once", "--port-base", "0", "--data-dir", dir],
        {
          timeout: 60_000,
          env: {
            ...process.env,
            WEBHOOK_ALLOW_PRIVATE: "true",
            STREAM_MAX_CHARS: "2000",
            TTS_TOKEN_SECRET: "t".repeat(32),
            OSS_BUCKET: "my-real-bucket",
            NOT_IN_S_YAML: "x",
          },
        },
      );
      const settings = /^Settings: +from your environment: (.*)$/m.exec(again.stdout)?.[1] ?? "";
      expect(settings).toContain("WEBHOOK_ALLOW_PRIVATE=true");
      expect(settings).toContain("STREAM_MAX_CHARS=2000");
      expect(settings).toContain("TTS_TOKEN_SECRET=(set)");
      expect(settings).not.toMatch(/NOT_IN_S_YAML|tttt/);
      expect(again.stdout).toMatch(/not taken, the local cloud sets them: OSS_BUCKET/);
      expect((await readFile(join(dir, "callback-secret"), "utf8")).trim()).toBe(secret);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("says in one line what is wrong with a port or a voice given to it, instead of a stack trace", async () => {
    const dir = await mkdtemp(join(tmpdir(), "quick-start-bad-"));
    const start = (args: string[], env: Record<string, string> = {}) =>
      run(process.execPath, ["--import", "tsx", "infra/local/start.ts", "--once", "--data-dir", dir, ...args], {
        timeout: 60_000,
        env: { ...process.env, ...env },
      }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
    try {
      const port = await start([], { PORT: "abc" });
      expect(port?.code).toBe(2);
      expect(port?.stderr.trim()).toBe("npm start: PORT=abc: a port is a whole number from 0 to 65535");
      const voice = await start(["--port-base", "0", "--voice", "nobody"]);
      expect(voice?.code).toBe(2);
      expect(voice?.stderr.trim()).toMatch(/^npm start: the demo synthesis was refused \(HTTP 400\): voice: .*nobody/);
      expect(voice?.stderr).not.toMatch(/\n\s+at /);
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
