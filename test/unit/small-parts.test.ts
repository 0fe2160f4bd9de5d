/** Small pieces with whole contracts: multipart hashing, OSS failure reading, the socket queue, OpenAI requests. */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../lib/errors.js";
import { SocketQueue } from "../../lib/providers/ws-queue.js";
import { fromOpenAi, OpenAiSpeechSchema } from "../../lib/speech/openai.js";
import { hashedParts } from "../../lib/storage/hashed-parts.js";
import { OssRequestError } from "../../lib/storage/oss-client.js";
import { isAlreadyExists, isTransient, toUpstreamError } from "../../lib/storage/oss-errors.js";

describe("multipart hashing", () => {
  it("cuts any chunking into parts of exactly the size, each with the MD5 of its bytes", async () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const chunks = async function* () {
      for (let at = 0; at < data.length; at += 37) yield data.subarray(at, at + 37);
    };
    const parts: Array<{ length: number; md5: string; bytes: Buffer }> = [];
    for await (const p of hashedParts(chunks(), 300)) parts.push({ ...p, bytes: Buffer.concat(p.chunks) });
    expect(parts.map((p) => p.length)).toEqual([300, 300, 300, 100]);
    expect(Buffer.concat(parts.map((p) => p.bytes)).equals(data)).toBe(true);
    for (const p of parts) expect(p.md5).toBe(createHash("md5").update(p.bytes).digest("base64"));
  });

  it("stops when aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    const source = async function* () {
      yield Buffer.from("x");
    };
    await expect(hashedParts(source(), 10, controller.signal).next()).rejects.toThrow("stop");
  });
});

describe("reading OSS failures", () => {
  it("retries no answer, 5xx, 429 and a damaged digest; not a refusal", () => {
    expect(isTransient(new OssRequestError(0, "ECONNRESET", "reset"))).toBe(true);
    expect(isTransient({ status: 503, code: "ServiceUnavailable" })).toBe(true);
    expect(isTransient({ status: 429 })).toBe(true);
    expect(isTransient({ status: 400, code: "InvalidDigest" })).toBe(true);
    expect(isTransient({ status: 403, code: "AccessDenied" })).toBe(false);
    expect(isAlreadyExists({ status: 409, code: "FileAlreadyExists" })).toBe(true);
    expect(isAlreadyExists({ status: 409, code: "Other" })).toBe(false);
  });

  it("makes an UpstreamError naming OSS, the operation and the code", () => {
    const error = toUpstreamError({ status: 403, code: "AccessDenied" }, "PutObject output/a.mp3");
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ provider: "oss", providerCode: "AccessDenied", retryable: false });
    expect(error.upstreamMessage).toBe("PutObject output/a.mp3 failed: AccessDenied (HTTP 403)");
    const already = new UpstreamError({ provider: "oss", code: "X" });
    expect(toUpstreamError(already, "any")).toBe(already);
  });
});

describe("the socket queue", () => {
  const socket = () => {
    const ws = { isPaused: false, pause: () => (ws.isPaused = true), resume: () => (ws.isPaused = false) };
    return ws;
  };

  it("pauses the socket above its high-water mark and resumes it below half, handing items in order", async () => {
    const ws = socket();
    const queue = new SocketQueue<string>(ws as never, 10);
    queue.push("a", 6);
    queue.push("b", 6);
    expect(ws.isPaused).toBe(true);
    queue.end();
    const got: string[] = [];
    for await (const v of queue.drain()) got.push(v);
    expect(got).toEqual(["a", "b"]);
    expect(ws.isPaused).toBe(false);
    queue.push("late", 1);
    expect(queue.finished).toBe(true);
  });

  it("fails the reader with the error, and peek says so before anything arrived", async () => {
    const queue = new SocketQueue<string>(socket() as never, 10);
    queue.fail(new Error("upstream closed"));
    await expect(queue.peek()).rejects.toThrow("upstream closed");
    const ok = new SocketQueue<string>(socket() as never, 10);
    ok.push("first");
    await ok.peek();
    ok.end();
    const got: string[] = [];
    for await (const v of ok.drain()) got.push(v);
    expect(got).toEqual(["first"]);
  });
});

describe("OpenAI's speech request", () => {
  const request = (o: Record<string, unknown>) =>
    OpenAiSpeechSchema.parse({ model: "tts-1", input: "你好", voice: "nova", ...o });

  it("maps OpenAI's voices, speed and formats onto NLS", () => {
    expect(fromOpenAi(request({}))).toMatchObject({ provider: "nls", voice: "siqi", format: "mp3", speechRate: 0 });
    expect(fromOpenAi(request({ voice: { id: "xiaoyun" }, speed: 2 })).voice).toBe("xiaoyun");
    expect(fromOpenAi(request({ speed: 2 })).speechRate).toBe(500);
  });

  it("refuses what it cannot do, naming OpenAI's field", () => {
    expect(() => fromOpenAi(request({ response_format: "opus" }))).toThrow(
      expect.objectContaining({ field: "response_format" }),
    );
    // An instruction is refused, never dropped: NLS voices take none.
    expect(() => fromOpenAi(request({ instructions: "Speak cheerfully." }))).toThrow(
      expect.objectContaining({ field: "instructions" }),
    );
    // Streamed as OpenAI's server-sent events, the request is the same speech.
    expect(fromOpenAi(request({ stream_format: "sse" }))).toEqual(fromOpenAi(request({})));
    expect(() => fromOpenAi(request({ speed: 4 }))).toThrow(expect.objectContaining({ field: "speed" }));
  });
});
