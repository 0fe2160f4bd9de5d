/**
 * The deployment contract: the local host refuses what Function Compute refuses, so a wiring the cloud would refuse
 * fails here first. Each case runs the real stack on a variant of s.yaml, or the real s.yaml against the limit.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { S_YAML } from "../../infra/deploy/s-yaml.js";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { type FunctionHost, startFunctionHost } from "../../infra/local/host.js";
import { createLogger } from "../../lib/log.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "contract-key-0001";
const hosts: FunctionHost[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const h of hosts) await h.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** s.yaml with `from` replaced by `to` (each must occur once). */
async function sYamlWith(...edits: Array<[from: string, to: string]>): Promise<string> {
  let text = await readFile(S_YAML, "utf8");
  for (const [from, to] of edits) {
    expect(text.split(from).length, from).toBe(2);
    text = text.replace(from, to);
  }
  const dir = await mkdtemp(join(tmpdir(), "s-yaml-"));
  dirs.push(dir);
  const file = join(dir, "s.yaml");
  await writeFile(file, text);
  return file;
}

async function host(sYaml?: string, env: Record<string, string> = {}): Promise<FunctionHost> {
  const h = await startFunctionHost({
    env: { ...cloud().env(), TTS_API_KEYS: KEY, ...env },
    log: createLogger({ level: "error", write: () => undefined }),
    cloud: cloud(),
    sYaml,
  });
  hosts.push(h);
  return h;
}

describe("runtimes: a function starts only with a command its image has", () => {
  it("serves stream on s.yaml's runtime, and answers FunctionNotStarted when the runtime image has no Node.js", async () => {
    const ok = await host();
    const health = await fetch(`${ok.url}/healthz`);
    expect(health.status).toBe(200);

    // The s.yaml this project shipped before: `node` on custom.debian12, whose image has Python only.
    const broken = await host(
      await sYamlWith(
        ["runtime: custom.debian10", "runtime: custom.debian12"],
        ["command: [/var/fc/lang/nodejs20/bin/node]", "command: [node]"],
      ),
    );
    const res = await fetch(`${broken.url}/v1/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "你好", voice: "xiaoyun" }),
    });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { Code: string; Message: string };
    expect(body.Code).toBe("FunctionNotStarted");
    expect(body.Message).toContain('"node" is not on the custom.debian12 image');
    // The job functions on nodejs20 still serve.
    const jobs = await fetch(`${broken.url}/v1/jobs`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(jobs.status).toBe(200);
  });
});
