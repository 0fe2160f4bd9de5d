import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { readWav } from "../../lib/audio/wav.js";
import { InputError, UpstreamError } from "../../lib/errors.js";
import { type LongTextStatus, NlsLongTextClient } from "../../lib/providers/nls/long-text.js";
import { NlsTokenClient } from "../../lib/providers/nls/token.js";
import { breakingEngine } from "../helpers/breaking-engine.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ longText: { queueMs: 200, runMs: 50 } });

function client(): NlsLongTextClient {
  const c = cloud();
  const tokens = new NlsTokenClient({
    endpoint: c.urls.nlsMeta,
    credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret },
  });
  return new NlsLongTextClient({ url: c.env().NLS_LONG_TEXT_URL!, appKey: c.appKey, tokens, retry: { baseMs: 1 } });
}

async function until(c: NlsLongTextClient, taskId: string): Promise<LongTextStatus & { seen: string[] }> {
  const seen: string[] = [];
  // espeak-ng synthesizes the task in the emulator: on a loaded 2-core machine a 700-character WAV took over 3 s, so
  // the wait is bounded by a generous deadline, not by a count of short polls.
  const deadline = Date.now() + 25_000;
  while (Date.now() < deadline) {
    const s = await c.status(taskId);
    if (seen.at(-1) !== s.state) seen.push(s.state);
    if (s.state === "success") return { ...s, seen };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("task never finished");
}

describe("NlsLongTextClient against the local long-text emulator", () => {
  it("submits, moves through QUEUEING and RUNNING to SUCCESS, and serves real audio with sentence timestamps", async () => {
    const c = client();
    const { taskId } = await c.submit({
      text: "第一句话。第二句话更长一些！Third sentence.",
      voice: "siqi",
      format: "mp3",
      sampleRate: 16000,
      enableSubtitle: true,
    });
    expect(taskId).toMatch(/^[0-9a-f]{32}$/);
    const done = await until(c, taskId);
    // The first answers are states, not errors (QUEUEING, then RUNNING) until SUCCESS.
    expect(done.seen[0]).toMatch(/queued|running/);
    expect(done.seen.at(-1)).toBe("success");
    expect(done.state).toBe("success");
    if (done.state !== "success") return;
    expect(done.sentences.map((s) => s.text)).toEqual(["第一句话。", "第二句话更长一些！", "Third sentence."]);
    expect(done.sentences.every((s) => typeof s.begin_time === "number" && s.end_time > s.begin_time)).toBe(true);
    const audio = Buffer.from(await (await fetch(done.audioAddress)).arrayBuffer());
    expect(mp3Frames(audio).length).toBeGreaterThan(20);
  });

  it("makes one WAV header over a text long enough to be synthesized in pieces", async () => {
    const c = client();
    const { taskId } = await c.submit({
      text: "这是一段用来测试长文本合成的句子。".repeat(40),
      format: "wav",
      sampleRate: 8000,
    });
    const done = await until(c, taskId);
    if (done.state !== "success") throw new Error("not done");
    const wav = readWav(Buffer.from(await (await fetch(done.audioAddress)).arrayBuffer()));
    expect(wav).toMatchObject({ sampleRate: 8000 });
    expect(wav!.durationMs).toBeGreaterThan(60_000);
  });

  it("posts seed 003's callback body to notify_url, which parses as a hint", async () => {
    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      let text = "";
      req.on("data", (d) => (text += d));
      req.on("end", () => {
        bodies.push(JSON.parse(text));
        res.end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const c = client();
      const { taskId } = await c.submit(
        { text: "回调测试。" },
        { notifyUrl: `http://localhost:${(server.address() as AddressInfo).port}/cb` },
      );
      await cloud().nls.longText.idle();
      expect(bodies).toHaveLength(1);
      const hint = c.parseCallback(bodies[0]);
      expect(hint).toMatchObject({
        status: 20000000,
        error_code: 20000000,
        error_message: "SUCCESS",
        data: { task_id: taskId },
      });
      expect(hint.data.audio_address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/nls-audio\//);
    } finally {
      server.close();
    }
  });

  it("refuses what seed 003 refuses before any request: 24 kHz, over 100,000 characters, an IP in notify_url", async () => {
    const before = cloud().nls.longText.stats.submitted;
    const c = client();
    await expect(c.submit({ text: "hi", voice: "siqi", sampleRate: 24000 as 16000 })).rejects.toMatchObject({
      field: "sampleRate",
    });
    await expect(c.submit({ text: "字".repeat(100_001) })).rejects.toMatchObject({
      field: "text",
      details: { limit: 100_000, actual: 100_001 },
    });
    await expect(c.submit({ text: "hi" }, { notifyUrl: "http://10.0.0.1/cb" })).rejects.toBeInstanceOf(InputError);
    expect(cloud().nls.longText.stats.submitted).toBe(before);
  });

  it("has the emulator itself refuse an IP notify_url, a missing notify_url and a bad token", async () => {
    const c = cloud();
    const post = (body: unknown) =>
      fetch(c.env().NLS_LONG_TEXT_URL!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<{ error_code: number; error_message: string }>);
    const token = await new NlsTokenClient({
      endpoint: c.urls.nlsMeta,
      credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret },
    }).token();
    const tts = { voice: "xiaoyun", sample_rate: 16000, format: "mp3", text: "x" };
    expect(
      await post({
        header: { appkey: c.appKey, token },
        payload: { tts_request: tts, enable_notify: true, notify_url: "http://127.0.0.1/cb" },
      }),
    ).toMatchObject({ error_code: 40000003, error_message: expect.stringMatching(/IP address/) });
    expect(
      await post({ header: { appkey: c.appKey, token }, payload: { tts_request: tts, enable_notify: true } }),
    ).toMatchObject({ error_code: 40000003, error_message: expect.stringMatching(/notify_url is required/) });
    expect(
      await post({ header: { appkey: c.appKey, token: "fdf" }, payload: { tts_request: tts, enable_notify: false } }),
    ).toMatchObject({ error_code: 40000001, error_message: "Meta:ACCESS_DENIED:The token 'fdf' is invalid!" });
    expect(
      await post({
        header: { appkey: c.appKey, token },
        payload: { tts_request: { ...tts, sample_rate: 24000 }, enable_notify: false },
      }),
    ).toMatchObject({ error_code: 40000003 });
  });

  it("reports a task that failed with the seed's code as a terminal UpstreamError", async () => {
    cloud().nls.longText.faults.failNext.push({
      code: 41020001,
      message: "TTS:TtsClientError:[tts]Engine return error code: 413",
    });
    const c = client();
    const { taskId } = await c.submit({ text: "会失败的任务。" });
    await cloud().nls.longText.idle();
    const error = await c.status(taskId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ providerCode: "41020001", retryable: false });
    expect((error as UpstreamError).explanation).toMatch(/SSML is malformed/);
  });

  it("refreshes an expired token once and goes on", async () => {
    const c = client();
    await c.submit({ text: "先取得令牌。" });
    cloud().nls.tokens.expireAll();
    const { taskId } = await c.submit({ text: "令牌过期后重新获取。" });
    expect(taskId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("stops serving audio after the retention period", async () => {
    const c = client();
    const { taskId } = await c.submit({ text: "七天后过期。" });
    const done = await until(c, taskId);
    if (done.state !== "success") throw new Error("not done");
    expect((await fetch(done.audioAddress)).status).toBe(200);
    cloud().nls.longText.age(taskId, 8 * 24 * 3600_000);
    expect((await fetch(done.audioAddress)).status).toBe(404);
  });

  it("a task whose audio file is gone under it fails that download, and the emulator goes on serving", async () => {
    const c = client();
    const { taskId } = await c.submit({ text: "音频文件被删除了。" });
    const done = await until(c, taskId);
    if (done.state !== "success") throw new Error("not done");
    await cloud().nls.longText.loseAudioFile(taskId);
    await expect(fetch(done.audioAddress).then((r) => r.arrayBuffer())).rejects.toThrow();
    const next = await c.submit({ text: "下一个任务照常下载。" });
    const after = await until(c, next.taskId);
    if (after.state !== "success") throw new Error("not done");
    expect((await fetch(after.audioAddress)).status).toBe(200);
  });
});

describe("the long-text emulator's own faults", () => {
  const breaking = useLocalCloud({
    engine: breakingEngine("引擎崩溃"),
    longText: { queueMs: 1, runMs: 1 },
  });

  it("fails the task as NLS reports a server error (50000000, retryable) instead of crashing the process", async () => {
    const c = breaking();
    const tokens = new NlsTokenClient({
      endpoint: c.urls.nlsMeta,
      credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret },
    });
    const client = new NlsLongTextClient({ url: c.env().NLS_LONG_TEXT_URL!, appKey: c.appKey, tokens });
    const { taskId } = await client.submit({ text: "这里引擎崩溃了。" });
    await c.nls.longText.idle();
    const error = await client.status(taskId).catch((e: unknown) => e);
    expect(error).toMatchObject({ providerCode: "50000000", retryable: true });
    // And it goes on serving: the next task succeeds.
    const next = await client.submit({ text: "下一个任务照常完成。" });
    await c.nls.longText.idle();
    expect((await client.status(next.taskId)).state).toBe("success");
  });
});
