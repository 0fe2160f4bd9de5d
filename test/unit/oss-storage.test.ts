import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { UpstreamError } from "../../lib/errors.js";
import { hashedParts, type OssStorage } from "../../lib/storage/oss.js";
import { ownerStorage, useLocalCloud } from "../helpers/local-cloud.js";

/** OSS alone is under test: the fast engine keeps the emulators from starting espeak-ng. */
const cloud = useLocalCloud({ engine: new FastEngine() });

/** Retries wait on no clock: the test counts what was sent, never how long it took. */
const storage = (): OssStorage => ownerStorage(cloud(), { sleep: async () => undefined });

/** A stream of unknown length: `total` bytes in odd-sized chunks, produced lazily. */
function generated(total: number, chunk = 7777): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(chunk, total - sent);
      const buf = Buffer.alloc(n);
      for (let i = 0; i < n; i++) buf[i] = (sent + i) % 251;
      sent += n;
      this.push(buf);
    },
  });
}

function expected(total: number): Buffer {
  const buf = Buffer.alloc(total);
  for (let i = 0; i < total; i++) buf[i] = i % 251;
  return buf;
}

describe("hashedParts", () => {
  it("re-chunks any stream into exact part sizes with a short last part", async () => {
    const sizes: number[] = [];
    for await (const part of hashedParts(generated(250_000, 999), 100_000)) sizes.push(part.length);
    expect(sizes).toEqual([100_000, 100_000, 50_000]);
  });

  it("yields the source's own chunks, a chunk that crosses a part boundary split but never copied", async () => {
    const a = Buffer.alloc(70, 1);
    const b = Buffer.alloc(70, 2);
    async function* source() {
      yield a;
      yield b;
    }
    const parts = [];
    for await (const part of hashedParts(source(), 100)) parts.push(part);
    expect(parts.map((p) => p.length)).toEqual([100, 40]);
    // The first part is all of `a` and the first 30 bytes of `b`, in their own memory; the second is b's rest.
    const [first, second] = parts[0]!.chunks;
    expect(first!.buffer).toBe(a.buffer);
    expect(second!.buffer).toBe(b.buffer);
    expect(second!.length).toBe(30);
    expect(parts[1]!.chunks[0]!.buffer).toBe(b.buffer);
    expect(parts[1]!.chunks[0]!.byteOffset - b.byteOffset).toBe(30);
    expect(parts[0]!.md5).toBe(
      createHash("md5")
        .update(Buffer.concat([a, b.subarray(0, 30)]))
        .digest("base64"),
    );
  });
});

describe("OssStorage", () => {
  it("streams an unknown-length body into one object through multipart parts", async () => {
    const total = 2 * 1024 * 1024 + 12345;
    const result = await storage().putStream("stream/big.bin", generated(total), {
      partSize: 512 * 1024,
      contentType: "application/octet-stream",
    });
    expect(result).toMatchObject({ created: true, size: total, parts: 5 });
    expect((await storage().get("stream/big.bin"))!.equals(expected(total))).toBe(true);
    expect(cloud().oss.files.openUploads()).toEqual([]);
  });

  it("writes a body smaller than one part with a single PutObject", async () => {
    const ops: string[] = [];
    const observer = (e: { op: string }) => ops.push(e.op);
    cloud().oss.observers.add(observer);
    const result = await storage().putStream("stream/small.bin", generated(1000), { partSize: 512 * 1024 });
    cloud().oss.observers.delete(observer);
    expect(result).toMatchObject({ created: true, size: 1000, parts: 1 });
    expect(ops).toEqual(["PutObject"]);
  });

  it("aborts the multipart upload on a terminal failure, leaving no object and no parts", async () => {
    cloud().oss.faults.failNext("UploadPart", { status: 403, code: "AccessDenied" });
    const error = await storage()
      .putStream("stream/failed.bin", generated(1024 * 1024), { partSize: 200 * 1024 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).providerCode).toBe("AccessDenied");
    expect(await storage().head("stream/failed.bin")).toBeUndefined();
    expect(cloud().oss.files.openUploads()).toEqual([]);
  });

  it("retries a part that fails transiently and completes the object intact", async () => {
    cloud().oss.faults.failNext("UploadPart", { status: 503, code: "ServiceUnavailable", times: 2 });
    const total = 700 * 1024;
    await storage().putStream("stream/retried.bin", generated(total), { partSize: 200 * 1024 });
    expect((await storage().get("stream/retried.bin"))!.equals(expected(total))).toBe(true);
  });

  describe("failing in the middle of a multipart upload (part 3 of 5)", () => {
    const total = 5 * 200 * 1024 - 4321;
    const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");
    const put = (key: string) => storage().putStream(key, generated(total), { partSize: 200 * 1024 });
    const partsSent = (key: string) => {
      const statuses: number[] = [];
      const observer = (e: { op: string; key: string; status: number }) =>
        void (e.key === key && e.op === "UploadPart" && statuses.push(e.status));
      cloud().oss.observers.add(observer);
      return { statuses, stop: () => cloud().oss.observers.delete(observer) };
    };

    it("sends the part again when the connection drops half-way through its body; the object's MD5 is the source's", async () => {
      cloud().oss.faults.resetNext("UploadPart", { part: 3, afterBytes: 100 * 1024 });
      const sent = partsSent("stream/reset.bin");
      await put("stream/reset.bin");
      sent.stop();
      expect(sent.statuses.filter((s) => s === 0)).toHaveLength(1);
      expect(sent.statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(md5((await storage().get("stream/reset.bin"))!)).toBe(md5(expected(total)));
      expect(cloud().oss.files.openUploads()).toEqual([]);
    });

    it("has a part damaged in transit refused by its Content-MD5 and sent again, never stored corrupt", async () => {
      cloud().oss.faults.corruptNext("UploadPart", { part: 3 });
      const sent = partsSent("stream/corrupt.bin");
      await put("stream/corrupt.bin");
      sent.stop();
      expect(sent.statuses).toContain(400);
      expect(md5((await storage().get("stream/corrupt.bin"))!)).toBe(md5(expected(total)));
    });

    it("aborts when part 3 keeps failing: no object, no parts left, the error says which upload", async () => {
      cloud().oss.faults.failNext("UploadPart", { part: 3, status: 503, code: "ServiceUnavailable", times: 10 });
      const error = await put("stream/abandoned.bin").catch((e: unknown) => e);
      cloud().oss.faults.clear();
      expect(error).toMatchObject({ providerCode: "ServiceUnavailable", retryable: true });
      expect((error as Error).message).toMatch(/stream\/abandoned\.bin/);
      expect(await storage().head("stream/abandoned.bin")).toBeUndefined();
      expect(cloud().oss.files.openUploads()).toEqual([]);
    });
  });

  it("creates only if absent: a second writer learns the key exists and the first content stays", async () => {
    const s = storage();
    expect(
      await s.put("once/record.json", '{"n":1}', { ifAbsent: true, contentType: "application/json" }),
    ).toMatchObject({ created: true });
    expect(await s.put("once/record.json", '{"n":2}', { ifAbsent: true })).toEqual({ created: false });
    const big = await s.putStream("once/big.bin", generated(300 * 1024), { partSize: 100 * 1024, ifAbsent: true });
    expect(big.created).toBe(true);
    expect(
      (await s.putStream("once/big.bin", generated(300 * 1024), { partSize: 100 * 1024, ifAbsent: true })).created,
    ).toBe(false);
    expect((await s.get("once/record.json"))!.toString()).toBe('{"n":1}');
    expect(cloud().oss.files.openUploads()).toEqual([]);
  });

  it("elects exactly one winner among concurrent create-if-absent writes", async () => {
    const s = storage();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => s.put("race/winner", `writer ${i}`, { ifAbsent: true })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it("heads, lists and signs URLs", async () => {
    const s = storage();
    await s.put("meta/a.mp3", Buffer.from("abc"), { contentType: "audio/mpeg", meta: { jobid: "j1" } });
    expect(await s.head("meta/a.mp3")).toMatchObject({ size: 3, contentType: "audio/mpeg", meta: { jobid: "j1" } });
    expect(await s.head("meta/missing")).toBeUndefined();
    expect(await s.get("meta/missing")).toBeUndefined();
    expect((await s.list("meta/")).objects.map((o) => o.key)).toEqual(["meta/a.mp3"]);
    const res = await fetch(s.signedUrl("meta/a.mp3", { expiresSeconds: 60, filename: "第一章.mp3" }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("abc");
  });
});
