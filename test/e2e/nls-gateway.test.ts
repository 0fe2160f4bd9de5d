import Core from "@alicloud/pop-core";
import { SpeechSynthesizer } from "alibabacloud-nls";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { mp3DurationMs, mp3Frames } from "../../lib/audio/mp3.js";
import { pcmDurationMs } from "../../lib/audio/wav.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { nlsStart } from "../helpers/wire.js";

const cloud = useLocalCloud({ gateway: { idleTimeoutMs: 300 } });

/** A token exactly as a user of the official SDK gets one: CreateToken through pop-core. */
async function createToken(): Promise<string> {
  const c = cloud();
  const client = new Core.RPCClient({
    accessKeyId: c.accessKey.accessKeyId,
    accessKeySecret: c.accessKey.accessKeySecret,
    endpoint: c.urls.nlsMeta,
    apiVersion: "2019-02-28",
  });
  const result = await client.request<{ Token: { Id: string; ExpireTime: number } }>("CreateToken");
  return result.Token.Id;
}

interface RawResult {
  events: Array<{
    header: { name: string; status: number; status_text?: string };
    payload?: { subtitles?: unknown[] };
  }>;
  audio: Buffer;
  closeCode: number;
}

/** Sends one raw frame (StartSynthesis or anything else) and collects the answer until the gateway closes or completes. */
function raw(frame: string | undefined, opts: { token?: string | null; query?: string } = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const c = cloud();
    const headers: Record<string, string> = opts.token === null ? {} : { "X-NLS-Token": opts.token ?? "" };
    const ws = new WebSocket(`${c.urls.nlsGateway}${opts.query ?? ""}`, { headers });
    const result: RawResult = { events: [], audio: Buffer.alloc(0), closeCode: 0 };
    ws.on("open", () => frame !== undefined && ws.send(frame));
    ws.on("message", (data: Buffer, binary) => {
      if (binary) result.audio = Buffer.concat([result.audio, data]);
      else {
        result.events.push(JSON.parse(data.toString()));
        if (result.events.at(-1)!.header.name === "SynthesisCompleted") ws.close();
      }
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on("error", reject);
    ws.on("close", (code) => resolve({ ...result, closeCode: code }));
  });
}

function start(payload: Record<string, unknown> & { text: string }, appkey = cloud().appKey): string {
  return nlsStart(payload.text, { appkey, payload });
}

const failure = (r: RawResult) => r.events.find((e) => e.header.name === "TaskFailed")?.header;

describe("NLS gateway emulator", () => {
  it("completes a synthesis driven by the official alibabacloud-nls SDK", async () => {
    const c = cloud();
    const tts = new SpeechSynthesizer({ url: c.urls.nlsGateway, appkey: c.appKey, token: await createToken() });
    const chunks: Buffer[] = [];
    let completed = false;
    tts.on("data", (d: Buffer) => chunks.push(d));
    tts.on("completed", () => (completed = true));
    const params = { ...tts.defaultStartParams("xiaoyun"), text: "你好，世界。Hello world.", format: "mp3" };
    const answer = await tts.start(params, true, 6000);
    const audio = Buffer.concat(chunks);
    expect(completed).toBe(true);
    expect(JSON.parse(answer).header).toMatchObject({ name: "SynthesisCompleted", status: 20000000 });
    expect(mp3Frames(audio).length).toBeGreaterThan(10);
    expect(mp3DurationMs(audio)).toBeGreaterThan(1000);
  });

  it("delivers MetaInfo to the official SDK for a voice with timestamps", async () => {
    const c = cloud();
    const tts = new SpeechSynthesizer({ url: c.urls.nlsGateway, appkey: c.appKey, token: await createToken() });
    const metas: string[] = [];
    tts.on("meta", (m: string) => metas.push(m));
    await tts.start({ ...tts.defaultStartParams("siqi"), text: "早上好", enable_subtitle: true }, false, 6000);
    expect(JSON.parse(metas[0]!).payload.subtitles).toHaveLength(3);
  });

  it("rejects the official SDK's promise with the TaskFailed JSON for an invalid token", async () => {
    const c = cloud();
    const tts = new SpeechSynthesizer({ url: c.urls.nlsGateway, appkey: c.appKey, token: "not-a-token" });
    const rejected = await tts
      .start({ ...tts.defaultStartParams("xiaoyun"), text: "hi" }, false, 6000)
      .catch((e: unknown) => e);
    expect(JSON.parse(String(rejected)).header).toMatchObject({ name: "TaskFailed", status: 40000001 });
  });

  it("answers 403 to an upgrade without a token, and accepts ?token= as the docs describe", async () => {
    await expect(raw(undefined, { token: null })).rejects.toThrow(/403/);
    const ok = await raw(start({ text: "query token" }), { token: null, query: `?token=${await createToken()}` });
    expect(ok.events.at(-1)?.header.name).toBe("SynthesisCompleted");
  });

  it("fails an expired token with 40000001 and an unknown AppKey with 40020105", async () => {
    const token = await createToken();
    expect(failure(await raw(start({ text: "x" }, "no-such-appkey"), { token }))).toMatchObject({
      status: 40020105,
      status_text: "Meta:APPKEY_NOT_EXIST:Appkey not exist!",
    });
    cloud().nls.tokens.expireAll();
    expect(failure(await raw(start({ text: "x" }), { token }))).toMatchObject({
      status: 40000001,
      status_text: expect.stringMatching(/has expired/),
    });
  });

  it("answers the seed's codes for unknown voices, sample rates, empty text and bad JSON", async () => {
    const token = await createToken();
    expect(failure(await raw(start({ text: "x", voice: "nobody" }), { token }))).toMatchObject({
      status: 41020001,
      status_text: expect.stringMatching(/error code: 418/),
    });
    expect(failure(await raw(start({ text: "x", voice: "xiaoyun", sample_rate: 24000 }), { token }))).toMatchObject({
      status: 41010101,
    });
    expect(failure(await raw(start({ text: "" }), { token }))).toMatchObject({
      status: 40010003,
      status_text: "Gateway:DIRECTIVE_INVALID:No text specified!",
    });
    expect(failure(await raw("{not json", { token }))).toMatchObject({ status: 40000002 });
    expect(failure(await raw(start({ text: "x", volume: 200 }), { token }))).toMatchObject({ status: 40000003 });
  });

  it("truncates plain text over 300 characters, as the seed says the real gateway does", async () => {
    const token = await createToken();
    const sentence = "one two three four five six seven eight nine ten ";
    const full = sentence.repeat(7).slice(0, 300);
    const long = await raw(start({ text: full + sentence.repeat(6) }), { token });
    const exact = await raw(start({ text: full }), { token });
    expect(long.events.at(-1)?.header.name).toBe("SynthesisCompleted");
    expect(Math.abs(pcmDurationMs(long.audio.length, 16000) - pcmDurationMs(exact.audio.length, 16000))).toBeLessThan(
      50,
    );
  });

  it("refuses SSML over 300 characters with 41020001 and the seed's message", async () => {
    const token = await createToken();
    const result = await raw(start({ text: `<speak>${"字".repeat(301)}</speak>` }), { token });
    expect(failure(result)).toMatchObject({
      status: 41020001,
      status_text: expect.stringMatching(/SSML text length should be less than 300\./),
    });
  });

  it("refuses <emotion> on a voice without emotions as Illegal ssml text, and speaks it on a multi-emotion voice", async () => {
    const token = await createToken();
    const ssml = '<speak><emotion category="happy" intensity="1.0">今天真开心</emotion></speak>';
    expect(failure(await raw(start({ text: ssml, voice: "xiaoyun" }), { token }))).toMatchObject({
      status: 41020001,
      status_text: expect.stringMatching(/Illegal ssml text/),
    });
    const ok = await raw(start({ text: ssml, voice: "zhitian_emo" }), { token });
    expect(ok.events.at(-1)?.header.name).toBe("SynthesisCompleted");
    expect(ok.audio.length).toBeGreaterThan(1000);
  });

  it("closes an idle session with 40000004", async () => {
    const result = await raw(undefined, { token: await createToken() });
    expect(failure(result)).toMatchObject({ status: 40000004 });
  });
});
