import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { createLogger } from "../../lib/log.js";
import { publish } from "../helpers/eventbridge.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll } from "../helpers/jobs.js";
import { ownerStorage, useLocalCloud, userOss } from "../helpers/local-cloud.js";

// Recognisable secrets: none of them may show up in a log line, a response body or an OSS object.
const SECRETS = {
  accessKeySecret: "AKSECRET-zz9-Plural-Z-Alpha",
  dashscopeKey: "sk-DASHSECRET-0b5f3c",
  callbackSecret: "CALLBACKSECRET-0123456789abcdef0123",
  apiKey: "APIKEYSECRET-42",
};

const cloud = useLocalCloud({
  engine: new FastEngine(),
  accessKey: { id: "LTAI5tSecretsTestId", secret: SECRETS.accessKeySecret },
  dashscopeApiKey: SECRETS.dashscopeKey,
  longText: { queueMs: 5, runMs: 5 },
});
const logs: string[] = [];
const bodies: string[] = [];
const host = useFunctionHost(
  cloud,
  { TTS_API_KEYS: SECRETS.apiKey, CALLBACK_SECRET: SECRETS.callbackSecret },
  { log: createLogger({ level: "debug", write: (l) => logs.push(l) }) },
);
const settle = () => settleAll(host, cloud());

async function call(path: string, init: RequestInit = {}): Promise<void> {
  const res = await fetch(`${host.url}${path}`, init);
  bodies.push(Buffer.from(await res.arrayBuffer()).toString("latin1"));
}

describe("secrets", () => {
  it("never appear in logs, responses or OSS objects, whatever the stack does", async () => {
    const auth = { authorization: `Bearer ${SECRETS.apiKey}`, "content-type": "application/json" };
    // Successful paths: streamed speech (NLS, CosyVoice, MiniMax), a job by API, a job by upload, a batch.
    await call("/v1/stream", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ text: "秘密测试。", format: "pcm" }),
    });
    await call("/v1/stream", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ provider: "cosyvoice", text: "秘密测试。", format: "wav", sampleRate: 16000 }),
    });
    await call("/v1/stream", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({
        provider: "minimax",
        voice: "male-qn-qingse",
        text: "秘密测试。",
        format: "mp3",
        sampleRate: 16000,
      }),
    });
    await call("/v1/jobs", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ text: "接口任务。", voice: "siqi" }),
    });
    const oss = userOss(cloud(), { accessKeyId: "LTAI5tSecretsTestId", accessKeySecret: SECRETS.accessKeySecret });
    await oss.put("input/secret/a.txt", Buffer.from("上传任务。"));
    await publish(cloud(), [
      {
        id: "e1",
        source: "tts.batch",
        type: "t",
        data: { items: [{ id: "x", text: "批量。" }], outputPrefix: "output/secret-batch/" },
      },
    ]);
    // Failing paths: wrong keys, bad input, provider failures, a forged callback, an expired token.
    await call("/v1/stream", { method: "POST", headers: { authorization: "Bearer wrong-key-000" }, body: "{}" });
    await call("/v1/stream", { method: "POST", headers: auth, body: JSON.stringify({ text: "字".repeat(400) }) });
    cloud().nls.gateway.faults.failNext.push(
      { status: 51020001, text: "TTS:TtsServerError" },
      { status: 51020001, text: "TTS:TtsServerError" },
      { status: 51020001, text: "TTS:TtsServerError" },
    );
    await call("/v1/stream", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ text: "上游失败。", format: "pcm" }),
    });
    cloud().nls.longText.faults.failNext.push({
      code: 41020001,
      message: "TTS:TtsClientError:[tts]Engine return error code: 418",
    });
    await call("/v1/jobs", { method: "POST", headers: auth, body: JSON.stringify({ text: "会失败的任务。" }) });
    await call("/callbacks/nls/job-00000000?sig=forged", { method: "POST", body: "{}" });
    cloud().nls.tokens.expireAll();
    await call("/v1/stream", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ text: "令牌过期。", format: "pcm" }),
    });
    await settle();
    await host.trigger("reconcile");
    await settle();

    // What leaked would be found in any of these.
    const objects: string[] = [];
    const owner = ownerStorage(cloud());
    for (const key of (await owner.list("", { maxKeys: 1000 })).objects.map((o) => o.key))
      objects.push((await owner.get(key))!.toString("latin1"));
    const tokens = await host.platform.clients.tokens.token().catch(() => "");
    const haystacks = { logs: logs.join("\n"), responses: bodies.join("\n"), objects: objects.join("\n") };
    expect(logs.length).toBeGreaterThan(10);
    expect(objects.length).toBeGreaterThan(10);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const [name, secret] of Object.entries({ ...SECRETS, nlsToken: tokens })) {
        if (!secret) continue;
        expect(text.includes(secret), `${name} found in ${where}`).toBe(false);
      }
    }
  }, 60_000);
});
