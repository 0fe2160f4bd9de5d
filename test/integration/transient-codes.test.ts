/**
 * The seed's status codes decide retries (seeds 000/003): 5xxxxxxx and 40000005 are retried with exponential backoff and
 * full jitter until they pass; any other error fails at once with the seed's reason. Each case injects the code at the
 * emulator and records the backoff the client chose.
 */
import { describe, expect, it } from "vitest";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { UpstreamError } from "../../lib/errors.js";
import { NlsLongTextClient } from "../../lib/providers/nls/long-text.js";
import { NlsSynthesizer } from "../../lib/providers/nls/synthesizer.js";
import { NlsTokenClient } from "../../lib/providers/nls/token.js";
import type { BackoffOptions } from "../../lib/retry.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ longText: { queueMs: 5, runMs: 5 } });

const TRANSIENT = [
  { code: 50000000, text: "Default server error" },
  { code: 51020001, text: "TTS:TtsServerError" },
  { code: 52010001, text: "Nls:NlsInternalError" },
  { code: 40000005, text: "Gateway:TOO_MANY_REQUESTS:Too many requests!" },
];
const TERMINAL = [
  { code: 40000003, text: "PARAMETER_INVALID", reason: /parameter/i },
  { code: 41020001, text: "TTS:TtsClientError:[tts]Engine return error code: 418", reason: /voice/i },
  { code: 40000010, text: "Meta:FREE_TRIAL_EXPIRED", reason: /trial|balance|commercial/i },
];

/** Backoff that sleeps for real (scaled down 100×) and records each delay and the ceiling it was drawn under. */
function recorder(baseMs = 200): { retry: BackoffOptions; delays: number[]; draws: number[] } {
  const delays: number[] = [];
  const draws: number[] = [];
  const retry: BackoffOptions = {
    baseMs,
    random: () => {
      const r = Math.random();
      draws.push(r);
      return r;
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms / 100)),
    onRetry: (_e, _attempt, delay) => void delays.push(delay),
  };
  return { retry, delays, draws };
}

const tokens = () => {
  const c = cloud();
  return new NlsTokenClient({
    endpoint: c.urls.nlsMeta,
    credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret },
  });
};
const synthesizer = (retry: BackoffOptions) =>
  new NlsSynthesizer({ url: cloud().urls.nlsGateway, appKey: cloud().appKey, tokens: tokens(), retry });
const longText = (retry: BackoffOptions) =>
  new NlsLongTextClient({ url: cloud().env().NLS_LONG_TEXT_URL!, appKey: cloud().appKey, tokens: tokens(), retry });

/** Each delay is the jittered draw times a ceiling that doubles per attempt. */
function expectFullJitter(delays: number[], draws: number[], baseMs: number): void {
  expect(delays).toEqual(draws.map((r, i) => Math.round(r * baseMs * 2 ** i)));
}

describe.each(TRANSIENT)("transient $code ($text)", ({ code, text }) => {
  it("NLS WebSocket: two failures are retried with backoff, then the audio comes", async () => {
    const gateway = cloud().nls.gateway;
    const before = gateway.stats.connections;
    gateway.faults.failNext.push({ status: code, text }, { status: code, text });
    const { retry, delays, draws } = recorder();
    const { audio } = await synthesizer(retry).synthesizeToBuffer({ text: "retry me", format: "mp3" });
    expect(mp3Frames(audio).length).toBeGreaterThan(0);
    expect(gateway.stats.connections - before).toBe(3);
    expect(delays).toHaveLength(2);
    expectFullJitter(delays, draws, 200);
  });

  it("NLS long-text POST: two failures are retried with backoff, then a task id", async () => {
    const service = cloud().nls.longText;
    const before = service.stats.submitted;
    service.faults.failSubmit.push(
      { status: code >= 50_000_000 ? 500 : 400, code, message: text },
      { status: code >= 50_000_000 ? 500 : 400, code, message: text },
    );
    const { retry, delays, draws } = recorder(300);
    const { taskId } = await longText(retry).submit({
      text: "重试之后成功。",
      voice: "siqi",
      format: "mp3",
      sampleRate: 16000,
    });
    expect(taskId).toMatch(/^[0-9a-f]{32}$/);
    expect([service.faults.failSubmit.length, service.stats.submitted - before]).toEqual([0, 1]);
    expectFullJitter(delays, draws, 300);
  });
});

describe.each(TERMINAL)("terminal $code", ({ code, text, reason }) => {
  it("NLS WebSocket: fails at once, one connection, no backoff, with the seed's reason", async () => {
    const gateway = cloud().nls.gateway;
    const before = gateway.stats.connections;
    gateway.faults.failNext.push({ status: code, text });
    const { retry, delays } = recorder();
    const error = await synthesizer(retry)
      .synthesizeToBuffer({ text: "fail me" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ providerCode: String(code), retryable: false });
    expect((error as UpstreamError).explanation).toMatch(reason);
    expect([gateway.stats.connections - before, delays]).toEqual([1, []]);
  });

  it("NLS long-text POST: fails at once, no backoff, with the seed's reason", async () => {
    const service = cloud().nls.longText;
    service.faults.failSubmit.push({ status: 400, code, message: text });
    const { retry, delays } = recorder(300);
    const error = await longText(retry)
      .submit({ text: "失败。", voice: "siqi", format: "mp3", sampleRate: 16000 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ providerCode: String(code), retryable: false });
    expect((error as UpstreamError).explanation).toMatch(reason);
    expect([service.faults.failSubmit.length, delays]).toEqual([0, []]);
  });
});
