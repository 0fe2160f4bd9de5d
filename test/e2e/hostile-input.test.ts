import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import type { Job } from "../../lib/jobs/schema.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { jobFor as findJob, settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "hostile-key-1";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY });
const settle = () => settleAll(host, cloud());

async function send(
  path: string,
  body: string | Buffer,
  contentType = "application/json",
): Promise<{ status: number; error?: { field?: string; message?: string; limit?: unknown } }> {
  const res = await fetch(`${host.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": contentType },
    body,
  });
  const text = await res.text();
  let json: { error?: { field?: string; message?: string; limit?: unknown } } = {};
  try {
    json = JSON.parse(text);
  } catch {
    // audio
  }
  return { status: res.status, error: json.error };
}

const J = (v: unknown) => JSON.stringify(v);

describe("hostile and malformed input", () => {
  const cases: Array<[string, string, string | Buffer, RegExp]> = [
    ["/v1/stream", "empty text", J({ text: "" }), /text/],
    ["/v1/stream", "whitespace-only text", J({ text: " \n\t " }), /text/],
    [
      "/v1/stream",
      "invalid UTF-8 in the body",
      Buffer.concat([Buffer.from('{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      /body/,
    ],
    [
      "/v1/stream",
      "GBK bytes in the body",
      Buffer.concat([Buffer.from('{"text":"'), Buffer.from([0xc4, 0xe3, 0xba, 0xc3]), Buffer.from('"}')]),
      /body/,
    ],
    [
      "/v1/stream",
      "UTF-16 with a byte order mark",
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"text":"hi"}', "utf16le")]),
      /body/,
    ],
    ["/v1/stream", "a NUL character", J({ text: "a\u0000b" }), /text/],
    ["/v1/stream", "a control character", J({ text: "a\u001bb" }), /text/],
    ["/v1/stream", "one character over STREAM_MAX_CHARS", J({ text: "字".repeat(4097) }), /text/],
    ["/v1/stream", "malformed SSML", J({ ssml: "<speak><break time=1s></speak>" }), /ssml/],
    ["/v1/stream", "nested speak", J({ ssml: "<speak><speak>x</speak></speak>" }), /ssml/],
    ["/v1/stream", "an unknown voice", J({ text: "x", voice: "../../etc/passwd" }), /voice/],
    ["/v1/stream", "an out-of-range volume", J({ text: "x", volume: 1e9 }), /volume/],
    ["/v1/stream", "a wrong type", J({ text: 42 }), /text/],
    ["/v1/stream", "an array body", J([1, 2]), /body/],
    ["/v1/stream", "not JSON", "{text:", /body/],
    ["/v1/stream", "an oversized body", J({ text: "x".repeat(70 * 1024) }), /body/],
    [
      "/v1/audio/speech",
      "an unknown response_format",
      J({ model: "tts-1", voice: "alloy", input: "x", response_format: "aac" }),
      /response_format/,
    ],
    [
      "/v1/audio/speech",
      "a speed NLS cannot make",
      J({ model: "tts-1", voice: "alloy", input: "x", speed: 4 }),
      /speed/,
    ],
    [
      "/v1/jobs",
      "an output key with ..",
      J({ text: "x", output: { key: "output/../jobs/records/x.json" } }),
      /output\.key/,
    ],
    ["/v1/jobs", "an input key that does not exist", J({ input: { key: "input/../../etc/passwd" } }), /input\.key/],
    ["/v1/jobs", "an unknown field", J({ text: "x", injected: true }), /^injected$/],
    ["/v1/jobs", "a sample rate long text does not take", J({ text: "x", sampleRate: 48000 }), /sampleRate/],
  ];

  for (const [path, name, body, field] of cases) {
    it(`answers ${name} on ${path} with a 4xx naming the field`, async () => {
      const res = await send(path, body);
      expect(res.status, JSON.stringify(res)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.error?.field ?? res.error?.message).toMatch(field);
    });
  }

  it("speaks markup smuggled into plain text instead of interpreting it", async () => {
    const res = await fetch(`${host.url}/v1/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: J({ text: '</speak><speak rate="2">injected', format: "pcm" }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });

  it("fails uploads with odd keys and bad bytes as jobs with reasons, and keeps serving", async () => {
    const oss = userOss(cloud());
    await oss.put("input/章节 一 (draft)+%41.txt", Buffer.from("非 ASCII 的键名也可以。"));
    await oss.put("input/nul.txt", Buffer.from("a\u0000b"));
    await oss.put("input/utf16.txt", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("hi", "utf16le")]));
    await settle();
    const job = (k: string): Promise<Job> => findJob(host, k);
    expect((await job("input/章节 一 (draft)+%41.txt")).state).toBe("done");
    expect((await job("input/nul.txt")).failure).toMatchObject({ code: "ControlCharacter" });
    expect((await job("input/utf16.txt")).failure).toMatchObject({
      code: "InvalidEncoding",
      reason: expect.stringMatching(/UTF-16LE/),
    });
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  });

  it("answers WebSocket frames out of order or not JSON with TaskFailed, never a crash", async () => {
    const frames = async (sent: Array<string | Buffer>): Promise<string[]> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${host.url.replace("http", "ws")}/ws/v1`, { headers: { "X-NLS-Token": KEY } });
        const got: string[] = [];
        ws.on("open", () => {
          for (const f of sent) ws.send(f);
        });
        ws.on("message", (d) => got.push(d.toString()));
        ws.on("close", () => resolve(got));
      });
    expect(JSON.parse((await frames(["not json"]))[0]!).header).toMatchObject({ name: "TaskFailed", status: 40000002 });
    expect(JSON.parse((await frames([Buffer.from([1, 2, 3])]))[0]!).header).toMatchObject({ name: "TaskFailed" });
    expect(
      JSON.parse((await frames([J({ header: { name: "StopSynthesis", task_id: "x" } })]))[0]!).header,
    ).toMatchObject({ name: "TaskFailed", status: 40000003 });
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  });
});
