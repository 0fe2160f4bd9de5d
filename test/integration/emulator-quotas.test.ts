/**
 * The local cloud refuses what an account's quota refuses, in each service's own words, so the budget's tests see the
 * storm the cloud would answer with. Concurrency 0 makes every call a refusal, whatever the machine's speed.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { BudgetApi } from "../../lib/budget/apis.js";
import { UpstreamError } from "../../lib/errors.js";
import { CosyVoiceSynthesizer } from "../../lib/providers/dashscope/cosyvoice.js";
import { MinimaxClient } from "../../lib/providers/dashscope/minimax.js";
import { IceClient } from "../../lib/providers/ice/client.js";
import { NlsLongTextClient } from "../../lib/providers/nls/long-text.js";
import { NlsSynthesizer } from "../../lib/providers/nls/synthesizer.js";
import { NlsTokenClient } from "../../lib/providers/nls/token.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ longText: { queueMs: 0, runMs: 0 } });

function closed(api: BudgetApi): void {
  cloud().quotas[api].limits = { concurrency: 0 };
  cloud().quotas[api].reset();
}

afterEach(() => {
  for (const gate of Object.values(cloud().quotas)) gate.limits = {};
  cloud().quotas["nls-ws"].limits = { concurrency: 16 };
});

async function refusal(call: () => Promise<unknown>): Promise<UpstreamError> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

function tokens(): NlsTokenClient {
  const c = cloud();
  return new NlsTokenClient({
    endpoint: c.urls.nlsMeta,
    credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret },
  });
}

describe("the emulators' quotas", () => {
  it("NLS WebSocket: 40000005 TOO_MANY_REQUESTS, retryable", async () => {
    closed("nls-ws");
    const c = cloud();
    const nls = new NlsSynthesizer({ url: c.env().NLS_GATEWAY_URL!, appKey: c.appKey, tokens: tokens() });
    const e = await refusal(() => nls.synthesizeToBuffer({ text: "你好。", voice: "xiaoyun", format: "mp3" }));
    nls.close();
    expect(e.providerCode).toBe("40000005");
    expect(e.upstreamMessage).toBe("Gateway:TOO_MANY_REQUESTS:Too many requests!");
    expect(e.retryable).toBe(true);
    expect(c.quotas["nls-ws"].stats.refused).toBeGreaterThanOrEqual(1);
  });

  it("NLS long-text: 40000005 at submission, retryable, and no task made", async () => {
    closed("nls-long-text");
    const c = cloud();
    const before = c.nls.longText.stats.submitted;
    const client = new NlsLongTextClient({
      url: c.env().NLS_LONG_TEXT_URL!,
      appKey: c.appKey,
      tokens: tokens(),
      retry: { baseMs: 1 },
    });
    const e = await refusal(() => client.submit({ text: "长文本。", voice: "xiaoyun", format: "mp3" }));
    expect(e.providerCode).toBe("40000005");
    expect(e.retryable).toBe(true);
    expect(c.nls.longText.stats.submitted).toBe(before);
    expect(c.quotas["nls-long-text"].stats.refused).toBeGreaterThanOrEqual(1);
  });

  it("ICE: POP's Throttling.User, retryable, and no job made", async () => {
    closed("ice");
    const c = cloud();
    const before = c.ice.stats.submitted;
    const ice = new IceClient({
      endpoint: c.urls.ice,
      credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret },
      retry: { baseMs: 1 },
    });
    const e = await refusal(() =>
      ice.submit({ text: "配额。", voice: "siqi", format: "mp3" }, { bucket: c.bucket, object: "out/q" }),
    );
    expect(e.providerCode).toBe("Throttling.User");
    expect(e.retryable).toBe(true);
    expect(c.ice.stats.submitted).toBe(before);
  });

  it("CosyVoice: task-failed with Throttling.RateQuota before the task starts, retryable", async () => {
    closed("cosyvoice");
    const c = cloud();
    const cosy = new CosyVoiceSynthesizer({
      url: c.env().DASHSCOPE_WS_URL!,
      apiKey: c.dashscopeApiKey,
      retry: { attempts: 1 },
    });
    const before = c.dashscope.cosyvoice.stats.tasks;
    const e = await refusal(async () => {
      for await (const _ of cosy.synthesize({ text: "你好。", format: "mp3" }));
    });
    expect(e.providerCode).toBe("Throttling.RateQuota");
    expect(e.upstreamMessage).toContain("rate limit exceeded");
    expect(e.retryable).toBe(true);
    expect(c.dashscope.cosyvoice.stats.tasks).toBe(before);
  });

  it("MiniMax: HTTP 429 with DashScope's Throttling.RateQuota body, retryable, nothing synthesized", async () => {
    closed("minimax");
    const c = cloud();
    const raw = await fetch(c.env().DASHSCOPE_HTTP_URL!, {
      method: "POST",
      headers: { authorization: `Bearer ${c.dashscopeApiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "MiniMax/speech-02-turbo",
        input: { text: "配额。", voice_setting: { voice_id: "male-qn-qingse" } },
      }),
    });
    expect(raw.status).toBe(429);
    expect(await raw.json()).toMatchObject({
      code: "Throttling.RateQuota",
      message: "Requests rate limit exceeded, please try again later.",
      request_id: expect.any(String),
    });
    const before = c.dashscope.minimax.stats.requests;
    const minimax = new MinimaxClient({ url: c.env().DASHSCOPE_HTTP_URL!, apiKey: c.dashscopeApiKey });
    const e = await refusal(() =>
      minimax.synthesize("MiniMax/speech-02-turbo", {
        text: "配额。",
        voice_setting: { voice_id: "male-qn-qingse" },
        audio_setting: { format: "mp3", sample_rate: 16000 },
      }),
    );
    expect(e.retryable).toBe(true);
    expect(c.dashscope.minimax.stats.requests).toBe(before);
  });
});
