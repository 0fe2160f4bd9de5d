/**
 * The deployment contract: the local host refuses what Function Compute refuses, so a wiring the cloud would refuse
 * fails here first. Each case runs the real stack on a variant of s.yaml, or the real s.yaml against the limit.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as EventBridge from "@alicloud/eventbridge";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { applyBatchRoute, batchRoute, eventBridgeClient, targetOf } from "../../infra/deploy/batch-route.js";
import { S_YAML } from "../../infra/deploy/s-yaml.js";
import { ensureServiceLinkedRole, ramClient } from "../../infra/deploy/service-linked-role.js";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { type FunctionHost, startFunctionHost } from "../../infra/local/host.js";
import { policyValues, renderPolicy } from "../../infra/ram/render.js";
import { UpstreamError } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";
import { OssStorage } from "../../lib/storage/oss.js";
import { publish } from "../helpers/eventbridge.js";
import { settle } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "contract-key-0001";
const hosts: FunctionHost[] = [];
const dirs: string[] = [];
// Each test's stacks stop after it: every stack hears the one local cloud's uploads.
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
});
afterAll(async () => {
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

async function host(
  sYaml?: string,
  env: Record<string, string> = {},
  logs: string[] = [],
  opts: { asyncRetries?: number; ramPolicy?: unknown } = {},
): Promise<FunctionHost> {
  const h = await startFunctionHost({
    env: { ...cloud().env(), TTS_API_KEYS: KEY, ...env },
    log: createLogger({ level: "info", write: (l) => logs.push(l) }),
    cloud: cloud(),
    sYaml,
    ...opts,
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

/** A job through the HTTP API, settled; its record. */
async function job(
  h: FunctionHost,
  text: string,
): Promise<{ id: string; state: string; failure?: { reason: string } }> {
  const res = await fetch(`${h.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ text, voice: "xiaoyun" }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  await settle(h, cloud());
  return (await h.platform.jobs().jobs.get(id)) as { id: string; state: string; failure?: { reason: string } };
}

describe("RAM: each function acts as its role, with the policy `npm run ram:policy` renders", () => {
  it("lets the role do what the policy grants and refuses the rest, as OSS, FC and POP answer", async () => {
    const h = await host();
    const storage = h.platform.clients.storage;
    // Granted: job records, and reading outputs.
    await storage.put("jobs/contract/ok.json", "{}");
    // Not granted: inputs are only ever read, other prefixes are not the functions' at all.
    for (const key of ["input/contract.txt", "elsewhere/contract.txt"])
      await expect(storage.put(key, "x")).rejects.toMatchObject({ providerCode: "AccessDenied" });
    await expect(storage.list("output/")).rejects.toMatchObject({ providerCode: "AccessDenied" });
    await expect(storage.delete("output/contract.mp3")).rejects.toMatchObject({ providerCode: "AccessDenied" });
    // FC: the role may invoke submit, store and reconcile, not the HTTP functions.
    const refused = await h.platform.invoker.invokeAsync("speech", {}).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UpstreamError);
    expect(refused).toMatchObject({ providerCode: "AccessDenied", retryable: false });
    // NLS CreateToken is granted (a real token comes back).
    expect(await h.platform.clients.tokens.token()).toMatch(/\w{8,}/);
  });

  it("fails an ICE job naming RAM's refusal when the role may not call ICE", async () => {
    const current = renderPolicy(policyValues(cloud().env())) as {
      Statement: Array<{ Action: string[]; Resource: string[] }>;
    };
    const noIce = {
      ...current,
      Statement: current.Statement.filter((st) => !st.Action.some((a) => a.startsWith("ice:"))),
    };
    const h = await host(undefined, {}, [], { ramPolicy: noIce });
    const res = await fetch(`${h.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ provider: "ice", text: "没有权限。" }),
    });
    expect(JSON.stringify(await res.json())).toContain("Forbidden.RAM");
  });

  it("refuses a job's async hand-off when the policy lacks it (the policy this project shipped before)", async () => {
    // The earlier policy granted fc:InvokeFunction on store and reconcile only: a MiniMax job never reached submit.
    const current = renderPolicy(policyValues(cloud().env())) as {
      Statement: Array<{ Action: string[]; Resource: string[] }>;
    };
    const earlier = {
      ...current,
      Statement: current.Statement.map((st) =>
        st.Action.includes("fc:InvokeFunction")
          ? { ...st, Resource: st.Resource.filter((r) => !r.endsWith("/submit")) }
          : st,
      ),
    };
    const minimax = (h: FunctionHost): Promise<Response> =>
      fetch(`${h.url}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ provider: "minimax", text: "你好。", voice: "male-qn-qingse" }),
      });
    const refused = await minimax(await host(undefined, {}, [], { ramPolicy: earlier }));
    expect(refused.status).toBe(502);
    expect(await refused.text()).toContain("AccessDenied");
    const accepted = await minimax(await host());
    expect(accepted.status).toBe(202);
  });
});

describe("credentials: every invocation and request gets the role's current STS credentials", () => {
  it("goes on working after the credentials an instance started with expire; a client that kept them is refused", async () => {
    const h = await host();
    expect((await job(h, "凭证过期之前。")).state).toBe("done");
    const startedWith = h.platform.env;
    expect(startedWith.ALIBABA_CLOUD_ACCESS_KEY_ID).toMatch(/^STS\./);

    cloud().credentials.expireIssued();
    // A client built once from the start-time environment, as lib/clients.ts did before, is refused by OSS.
    const stale = new OssStorage({
      config: {
        bucket: cloud().bucket,
        region: `oss-${cloud().region}`,
        accessKeyId: startedWith.ALIBABA_CLOUD_ACCESS_KEY_ID!,
        accessKeySecret: startedWith.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
        securityToken: startedWith.ALIBABA_CLOUD_SECURITY_TOKEN,
        endpoint: cloud().urls.oss,
        pathStyle: true,
      },
    });
    await expect(stale.get("jobs/contract/ok.json")).rejects.toMatchObject({ providerCode: "SecurityTokenExpired" });

    // The functions get new credentials with each invocation (job functions) and each request (stream).
    expect((await job(h, "凭证过期之后。")).state).toBe("done");
    const stream = await fetch(`${h.url}/v1/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "凭证过期之后的流。", voice: "xiaoyun", format: "mp3" }),
    });
    expect(stream.status).toBe(200);
    expect((await stream.arrayBuffer()).byteLength).toBeGreaterThan(500);
  });

  it("signs download links with V4 on the public origin, never the internal endpoint", async () => {
    const h = await host();
    const done = await job(h, "下载链接。");
    const view = (await (
      await fetch(`${h.url}/v1/jobs/${done.id}`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { outputs: { audio: { url: string } } };
    const url = new URL(view.outputs.audio.url);
    expect(url.searchParams.get("x-oss-signature-version")).toBe("OSS4-HMAC-SHA256");
    expect(url.searchParams.has("OSSAccessKeyId")).toBe(false);
    expect(url.hostname).not.toMatch(/-internal\./);
    const audio = await fetch(url);
    expect(audio.status).toBe(200);
    expect(audio.headers.get("content-type")).toBe("audio/mpeg");
  });
});

describe("limits: what FC and EventBridge refuse by size", () => {
  it("refuses a request over 32 MB to the custom runtime before the function sees it", async () => {
    const h = await host();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${h.url}/v1/stream`, {
        method: "POST",
        headers: { "content-length": String(32 * 1024 * 1024 + 1), authorization: `Bearer ${KEY}` },
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("error", reject);
      req.write("{");
    });
    expect(answer.status).toBe(413);
    expect(answer.body).toContain("EntityTooLarge");
  });

  it("refuses an async invocation over 128 KB with FC's EntityTooLarge", async () => {
    const h = await host();
    const big = { submitJob: "x".repeat(128 * 1024) };
    await expect(h.platform.invoker.invokeAsync("submit", big)).rejects.toMatchObject({
      providerCode: "EntityTooLarge",
      retryable: false,
    });
    await expect(h.platform.invoker.invokeAsync("submit", { submitJob: "x".repeat(1000) })).resolves.toBeUndefined();
  });
});

describe("async configuration: s.yaml's retries and onFailure destination", () => {
  it("retries store as s.yaml says, then delivers FC's record to reconcile, which finishes the job", async () => {
    const logs: string[] = [];
    const h = await host(undefined, {}, logs);
    const before = logs.length;
    const audioFails = (k: string): boolean => k.startsWith("output/contract/retry");
    cloud().oss.faults.failNext("PutObject", {
      status: 503,
      code: "ServiceUnavailable",
      times: 3 * 3,
      key: audioFails,
    });
    cloud().oss.faults.failNext("InitiateMultipartUpload", {
      status: 503,
      code: "ServiceUnavailable",
      times: 3 * 3,
      key: audioFails,
    });
    try {
      const oss = userOss(cloud());
      await oss.put("input/contract/retry.txt", Buffer.from("存储一直失败。"));
      await settle(h, cloud());
    } finally {
      cloud().oss.faults.clear();
    }
    const lines = logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    // store: the first attempt and maxAsyncRetryAttempts (2) retries, then the destination.
    expect(lines.filter((l) => l.msg === "async invocation failed" && l.function === "store")).toHaveLength(3);
    expect(lines.some((l) => l.msg === "store's retries were spent; reconcile tries once more")).toBe(true);
    const done = (await userOss(cloud()).list({ prefix: "output/contract/retry", "max-keys": 10 }, {})).objects.map(
      (o) => o.name,
    );
    expect(done).toContain("output/contract/retry.mp3");
  });
});

describe("EventBridge: the route `npm run deploy` makes, as EventBridge checks it", () => {
  const bare = useLocalCloud({ engine: new FastEngine() });
  const client = () => {
    const env = bare().env();
    return eventBridgeClient({
      endpoint: bare().urls.eventbridge,
      accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!,
      accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
    });
  };
  const where = () => ({ region: bare().region, accountId: bare().env().ALIBABA_CLOUD_ACCOUNT_ID! });

  it("delivers nothing to FC until the account has EventBridge's service-linked role, which deploy makes once", async () => {
    const delivered: string[] = [];
    bare().eventbridge.deliver = (target) => void delivered.push(target.functionName);
    await applyBatchRoute(client(), batchRoute(), where());
    const e = { id: "slr-1", source: "tts.batch", type: "tts:Batch:Submitted", data: { items: [] } };
    expect((await publish(bare(), [e])).failed).toBe(0);
    expect(bare().eventbridge.log.at(-1)).toMatchObject({
      outcome: "failed",
      reason: expect.stringContaining("AliyunServiceRoleForEventBridgeSendToFC"),
    });
    expect(delivered).toEqual([]);

    const env = bare().env();
    const ram = ramClient({
      endpoint: bare().urls.ram,
      credentials: {
        accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!,
        accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
      },
    });
    expect(await ensureServiceLinkedRole(ram)).toMatch(/created service-linked role/);
    expect(await ensureServiceLinkedRole(ram)).toBeUndefined();
    expect((await publish(bare(), [{ ...e, id: "slr-2" }])).failed).toBe(0);
    expect(delivered).toEqual(["submit"]);
  });

  it("refuses an FC target with a parameter the documents do not define, or without one they require", async () => {
    const target = targetOf(batchRoute(), where());
    const withExtra = new EventBridge.TargetEntry({
      ...target,
      paramList: [...target.paramList!, new EventBridge.EBTargetParam({ resourceKey: "Payload", form: "ORIGINAL" })],
    });
    const without = new EventBridge.TargetEntry({
      ...target,
      paramList: target.paramList!.filter((p) => p.resourceKey !== "DataFormat"),
    });
    const route = batchRoute();
    for (const [t, problem] of [
      [withExtra, /no parameter Payload/],
      [without, /needs the parameter DataFormat/],
    ] as const)
      await expect(
        client().createTargets(
          new EventBridge.CreateTargetsRequest({ eventBusName: route.bus, ruleName: route.rule, targets: [t] }),
        ),
      ).rejects.toThrow(problem);
  });
});

describe("the local host's start (issue 26, defect 12)", () => {
  it("routes nothing before every function is mounted: a request arriving meanwhile waits instead of getting 404", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createNetServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const starting = startFunctionHost({
      env: { ...cloud().env(), TTS_API_KEYS: KEY },
      log: createLogger({ level: "error", write: () => undefined }),
      cloud: cloud(),
      port,
    });
    const statuses: number[] = [];
    let done = false;
    void starting.then(() => (done = true));
    // Ask as soon as the port answers, while the host is still mounting.
    while (!done && statuses.length === 0) {
      const status = await fetch(`http://127.0.0.1:${port}/v1/jobs`).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 0) statuses.push(status);
    }
    hosts.push(await starting);
    if (statuses.length === 0) statuses.push((await fetch(`http://127.0.0.1:${port}/v1/jobs`)).status);
    expect(statuses).toEqual([401]);
  });
});
