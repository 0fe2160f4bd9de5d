import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { UpstreamError } from "../../lib/errors.js";
import { IceClient, type IceStatus } from "../../lib/providers/ice/client.js";
import { breakingEngine } from "../helpers/breaking-engine.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const AUTH_KEY = "Test123abc";
const cloud = useLocalCloud({ ice: { authKey: AUTH_KEY, createdMs: 10 } });

function client(secret?: string): IceClient {
  const c = cloud();
  return new IceClient({
    endpoint: c.urls.ice,
    credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: secret ?? c.accessKey.accessKeySecret },
    retry: { baseMs: 1 },
  });
}

async function until(ice: IceClient, jobId: string): Promise<IceStatus> {
  for (let i = 0; i < 300; i++) {
    const s = await ice.status(jobId);
    if (s.state === "success") return s;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("ICE job never finished");
}

describe("IceClient against the local ICE emulator", () => {
  it("submits a job whose audio ICE writes into OSS with the format's extension, and reads AiResult sentences", async () => {
    const c = cloud();
    const ice = client();
    const { jobId } = await ice.submit(
      { text: "第一句话。第二句话！", voice: "siqi", format: "mp3", title: "第一章" },
      { bucket: c.bucket, object: "output/ice/ch1" },
    );
    const done = await until(ice, jobId);
    if (done.state !== "success") throw new Error("not done");
    expect(done.sentences.map((s) => s.text)).toEqual(["第一句话。", "第二句话！"]);
    const meta = c.oss.files.head(c.bucket, "output/ice/ch1.mp3");
    expect(meta?.size).toBeGreaterThan(1000);
    const chunks: Buffer[] = [];
    for await (const chunk of c.oss.files.read(meta!)) chunks.push(chunk as Buffer);
    expect(mp3Frames(Buffer.concat(chunks)).length).toBeGreaterThan(10);
  });

  it("sends the JSON-string parameters as JSON, never as [object Object]", () => {
    const params = client().prepare(
      { text: "hi", voice: "siqi", format: "wav" },
      { bucket: "b-1", object: "o" },
      "https://cb.example/x",
    );
    expect(JSON.parse(params.EditingConfig)).toMatchObject({ voice: "siqi", format: "WAV", volume: 50 });
    expect(JSON.parse(params.OutputConfig)).toEqual({ bucket: "b-1", object: "o" });
    expect(JSON.parse(params.UserData!)).toEqual({ NotifyAddress: "https://cb.example/x" });
    expect(
      JSON.parse(
        client().prepare({ text: "hi", customizedVoice: "cloned-01" }, { bucket: "b-1", object: "o" }).EditingConfig,
      ),
    ).toMatchObject({ customizedVoice: "cloned-01" });
  });

  it("checks seed 002's limits before any request", async () => {
    const before = cloud().ice.stats.submitted;
    const ice = client();
    const out = { bucket: cloud().bucket, object: "output/x" };
    await expect(ice.submit({ text: "字".repeat(10_001) }, out)).rejects.toMatchObject({
      field: "text",
      details: { limit: 10_000, actual: 10_001 },
    });
    await expect(ice.submit({ text: "hi", title: "题".repeat(43) }, out)).rejects.toMatchObject({
      field: "title",
      details: { limit: 128, actual: 129 },
    });
    await expect(ice.submit({ text: "hi", description: "x".repeat(1025) }, out)).rejects.toMatchObject({
      field: "description",
      details: { limit: 1024 },
    });
    await expect(ice.submit({ text: "hi" }, out, `https://cb.example/${"x".repeat(500)}`)).rejects.toMatchObject({
      field: "notifyAddress",
      details: { limit: 512 },
    });
    expect(cloud().ice.stats.submitted).toBe(before);
  });

  it("fails a wrong secret with POP's code, and reports a Failed job with ICE's code and message", async () => {
    await expect(
      client("wrong").submit({ text: "hi" }, { bucket: cloud().bucket, object: "output/y" }),
    ).rejects.toMatchObject({ providerCode: "SignatureDoesNotMatch", retryable: false });
    cloud().ice.faults.failNext.push({ code: "InvalidParameter.Voice", message: "The voice is not authorized." });
    const ice = client();
    const { jobId } = await ice.submit({ text: "会失败。" }, { bucket: cloud().bucket, object: "output/z" });
    await cloud().ice.idle();
    const error = await ice.status(jobId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({
      provider: "ice",
      providerCode: "InvalidParameter.Voice",
      upstreamMessage: "The voice is not authorized.",
      retryable: false,
    });
  });

  it("posts ICE's callback envelope signed with md5(url|timestamp|AuthKey)", async () => {
    const seen: Array<{ headers: IncomingHttpHeaders; body: string; url: string }> = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        seen.push({ headers: req.headers, body, url: req.url ?? "" });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const notify = `http://localhost:${(server.address() as AddressInfo).port}/callbacks/ice/j1?sig=abc`;
      await client().submit({ text: "回调。" }, { bucket: cloud().bucket, object: "output/cb" }, notify);
      await cloud().ice.idle();
      expect(seen).toHaveLength(1);
      const { headers, body } = seen[0]!;
      expect(headers["x-ice-signature"]).toBe(
        createHash("md5").update(`${notify}|${headers["x-ice-timestamp"]}|${AUTH_KEY}`).digest("hex"),
      );
      expect(JSON.parse(body)).toMatchObject({
        EventType: expect.any(String),
        UserId: expect.any(Number),
        EventTime: expect.any(String),
        MessageBody: { Status: "Success" },
      });
    } finally {
      server.close();
    }
  });
});

describe("the ICE emulator's own faults", () => {
  const breaking = useLocalCloud({
    engine: breakingEngine("引擎崩溃"),
    ice: { authKey: AUTH_KEY, createdMs: 1 },
  });

  it("fails the job with ICE's InternalError instead of crashing the process", async () => {
    const c = breaking();
    const ice = new IceClient({
      endpoint: c.urls.ice,
      credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret },
      retry: { baseMs: 1 },
    });
    const { jobId } = await ice.submit(
      { text: "这里引擎崩溃了。", voice: "siqi", format: "mp3" },
      { bucket: c.bucket, object: "output/ice/broken" },
    );
    let error: unknown;
    for (let i = 0; i < 300 && !error; i++) {
      error = await ice.status(jobId).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!error) await new Promise((r) => setTimeout(r, 10));
    }
    expect(error).toMatchObject({ code: "InternalError" });
    expect(c.oss.files.head(c.bucket, "output/ice/broken.mp3")).toBeUndefined();
  });
});
