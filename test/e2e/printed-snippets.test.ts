/**
 * What `npm start` prints, used exactly as printed: the curl line in a shell, the OpenAI and NLS SDK settings, and the
 * README's ali-oss settings with the printed OSS address and AccessKey for a long-text upload. A snippet that drifts
 * from the code fails here, not in a user's terminal.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import OSS from "ali-oss";
import { SpeechSynthesizer } from "alibabacloud-nls";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mp3DurationMs } from "../../lib/audio/mp3.js";

const sh = promisify(execFile);
const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");

let child: ChildProcess;
let printed = "";
let dir: string;

/** The value after `label` on its printed line. */
function line(label: string): string {
  const found = printed.split("\n").find((l) => l.startsWith(label));
  if (!found) throw new Error(`npm start printed no "${label}" line:\n${printed}`);
  return found.slice(label.length).trim();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "printed-"));
  // As `npm start` runs it, on ephemeral ports; without --once it stays up until SIGINT.
  child = spawn(process.execPath, ["--import", "tsx", "infra/local/start.ts", "--port-base", "0", "--data-dir", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready:\n${printed}`)), 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      printed += chunk.toString("utf8");
      if (printed.includes("Press Ctrl-C to stop.")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`npm start exited (${code}):\n${printed}`)));
  });
}, 70_000);

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    child.kill("SIGINT");
    expect(await exited).toBe(0); // Ctrl-C stops it cleanly
  }
  await rm(dir, { recursive: true, force: true });
});

describe("what npm start prints works as printed", () => {
  it("the `Try it:` curl line, run in a shell, writes speech to hello.mp3", async () => {
    const curl = line("Try it:");
    expect(curl).toMatch(/^curl /);
    await sh("sh", ["-c", curl], { cwd: dir, timeout: 30_000 });
    expect(mp3DurationMs(await readFile(join(dir, "hello.mp3")))).toBeGreaterThan(500);
  });

  it("the `OpenAI SDK:` settings speak through the official openai client", async () => {
    const settings = /apiKey: "([^"]+)", baseURL: "([^"]+)"/.exec(line("OpenAI SDK:"));
    expect(settings).not.toBeNull();
    const openai = new OpenAI({ apiKey: settings![1], baseURL: settings![2] });
    const speech = await openai.audio.speech.create({
      model: "tts-1",
      voice: "alloy",
      input: "Hello from the README.",
    });
    expect(mp3DurationMs(Buffer.from(await speech.arrayBuffer()))).toBeGreaterThan(500);
  });

  it("the `NLS SDK:` settings speak through the official alibabacloud-nls client", async () => {
    const settings = /url: "([^"]+)", appkey: "([^"]+)", token: "([^"]+)"/.exec(line("NLS SDK:"));
    expect(settings).not.toBeNull();
    const tts = new SpeechSynthesizer({ url: settings![1]!, appkey: settings![2]!, token: settings![3]! });
    const chunks: Buffer[] = [];
    tts.on("data", (d: Buffer) => chunks.push(d));
    await tts.start({ ...tts.defaultStartParams("xiaoyun"), text: "你好，世界。", format: "mp3" }, true, 6000);
    expect(mp3DurationMs(Buffer.concat(chunks))).toBeGreaterThan(500);
  });

  it("the README's ali-oss settings with the printed OSS address upload text and get .mp3, .srt and .vtt back", async () => {
    // README: `endpoint: "http://localhost:9100", region: "oss-cn-shanghai", authorizationV4: true, sldEnable: true,
    // secure: false`; the port here is the printed one. A bucket made since 2025-09-01 takes V4 signatures only.
    expect(readme).toContain('region: "oss-cn-shanghai", authorizationV4: true, sldEnable: true, secure: false');
    const local = /OSS (\S+) \(bucket (\S+), AccessKey ([^/]+)\/([^)]+)\)/.exec(line("Local cloud:"));
    expect(local).not.toBeNull();
    const [, endpoint, bucket, accessKeyId, accessKeySecret] = local!;
    const oss = new OSS({
      endpoint: endpoint!,
      bucket: bucket!,
      accessKeyId: accessKeyId!,
      accessKeySecret: accessKeySecret!,
      region: "oss-cn-shanghai",
      authorizationV4: true,
      sldEnable: true,
      secure: false,
    } as OSS.Options);
    await oss.put("input/readme/hello.txt", Buffer.from("你好。这是从说明里上传的文字。"));
    const wanted = ["output/readme/hello.mp3", "output/readme/hello.srt", "output/readme/hello.vtt"];
    const deadline = Date.now() + 60_000;
    let found: string[] = [];
    while (Date.now() < deadline) {
      const listed = await oss.list({ prefix: "output/readme/", "max-keys": 100 }, {});
      found = (listed.objects ?? []).map((o) => o.name).sort();
      if (wanted.every((k) => found.includes(k))) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(found).toEqual(expect.arrayContaining(wanted));
    const mp3 = (await oss.get("output/readme/hello.mp3")).content as Buffer;
    expect(mp3DurationMs(mp3)).toBeGreaterThan(500);
    expect(((await oss.get("output/readme/hello.srt")).content as Buffer).toString("utf8")).toMatch(/-->/);
  }, 90_000);
});
