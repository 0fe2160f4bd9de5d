/**
 * One key cannot take every provider task of the account (issue 26, defect 8): a key over its share of open streams
 * gets 429 with Retry-After before any upstream call; another key is served.
 */
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { toErrorBody, UpstreamError } from "../../lib/errors.js";
import { errorResponse } from "../../lib/http/response.js";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";
import { useStreamServer } from "../helpers/stream-server.js";

// Synthesis at 20 ms a character: a 280-character stream stays open for seconds, holding its slot.
const cloud = useLocalCloud({ engine: new FastEngine({ synthMsPerChar: 20 }) });
const A = "share-key-a-0123456";
const B = "share-key-b-0123456";
const server = useStreamServer(cloud, { TTS_API_KEYS: `${A},${B}`, STREAM_KEY_CONCURRENCY: "1", TTS_CACHE: "false" });

const post = (key: string) =>
  fetch(`${server().url}/v1/stream`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ text: "好。", voice: "xiaoyun", format: "pcm" }),
  });

describe("each key's share of the upstream", () => {
  it("answers a key over its share 429 with Retry-After, and serves another key meanwhile", {
    timeout: 40_000,
  }, async () => {
    // A's first stream: a client that sends its request and reads nothing, so the stream stays open.
    const body = JSON.stringify({
      text: "这是一段很长的文字，".repeat(28),
      voice: "xiaoyun",
      format: "pcm",
      sampleRate: 16000,
    });
    const { port } = new URL(server().url);
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(
        `POST /v1/stream HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${A}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    socket.pause();
    socket.on("error", () => undefined);
    try {
      // Once A's first stream holds its slot, A's next request is refused (before that, one may still be served).
      let refused: Response | undefined;
      await eventually(async () => {
        const res = await post(A);
        if (res.status !== 429) {
          await res.arrayBuffer();
          return false;
        }
        refused = res;
        return true;
      }, 5000);
      expect(refused!.headers.get("retry-after")).toBe("1");
      expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe("TooManyStreams");
      const served = await post(B);
      expect(served.status).toBe(200);
      expect((await served.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    } finally {
      socket.destroy();
    }
    // A's slot comes back when its stream ends (its synthesis returns, finds the client gone, and stops).
    await eventually(async () => (await post(A)).status === 200, 20_000);
  });

  it("answers a provider at its concurrency limit 503 with Retry-After, not 502", async () => {
    const busy = new UpstreamError({ provider: "nls", code: "40000005", upstreamMessage: "too many", retryable: true });
    expect(toErrorBody(busy)).toMatchObject({ statusCode: 503, body: { error: { code: "UpstreamBusy" } } });
    const res = errorResponse(busy);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const other = new UpstreamError({ provider: "nls", code: "41020001", upstreamMessage: "voice", retryable: false });
    expect(toErrorBody(other).statusCode).toBe(502);
  });
});
