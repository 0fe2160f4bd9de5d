import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ProviderError } from "../../lib/errors.js";
import { OssStorage, fixedSizeParts } from "../../lib/storage/oss.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud();

function storage(): OssStorage {
  const c = cloud();
  return new OssStorage({ config: { bucket: c.bucket, region: `oss-${c.region}`, accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret, endpoint: c.urls.oss, pathStyle: true } });
}

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

describe("fixedSizeParts", () => {
  it("re-chunks any stream into exact part sizes with a short last part", async () => {
    const sizes: number[] = [];
    for await (const part of fixedSizeParts(generated(250_000, 999), 100_000)) sizes.push(part.length);
    expect(sizes).toEqual([100_000, 100_000, 50_000]);
  });
});

describe("OssStorage", () => {
  it("streams an unknown-length body into one object through multipart parts", async () => {
    const total = 2 * 1024 * 1024 + 12345;
    const result = await storage().putStream("stream/big.bin", generated(total), { partSize: 512 * 1024, contentType: "application/octet-stream" });
    expect(result).toMatchObject({ created: true, size: total, parts: 5 });
    expect((await storage().get("stream/big.bin"))!.equals(expected(total))).toBe(true);
    expect(cloud().oss.store.openUploads()).toEqual([]);
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
    const error = await storage().putStream("stream/failed.bin", generated(1024 * 1024), { partSize: 200 * 1024 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).providerCode).toBe("AccessDenied");
    expect(await storage().head("stream/failed.bin")).toBeUndefined();
    expect(cloud().oss.store.openUploads()).toEqual([]);
  });

  it("retries a part that fails transiently and completes the object intact", async () => {
    cloud().oss.faults.failNext("UploadPart", { status: 503, code: "ServiceUnavailable", times: 2 });
    const total = 700 * 1024;
    await storage().putStream("stream/retried.bin", generated(total), { partSize: 200 * 1024 });
    expect((await storage().get("stream/retried.bin"))!.equals(expected(total))).toBe(true);
  });

  it("creates only if absent: a second writer learns the key exists and the first content stays", async () => {
    const s = storage();
    expect(await s.put("once/record.json", '{"n":1}', { ifAbsent: true, contentType: "application/json" })).toMatchObject({ created: true });
    expect(await s.put("once/record.json", '{"n":2}', { ifAbsent: true })).toEqual({ created: false });
    const big = await s.putStream("once/big.bin", generated(300 * 1024), { partSize: 100 * 1024, ifAbsent: true });
    expect(big.created).toBe(true);
    expect((await s.putStream("once/big.bin", generated(300 * 1024), { partSize: 100 * 1024, ifAbsent: true })).created).toBe(false);
    expect((await s.get("once/record.json"))!.toString()).toBe('{"n":1}');
    expect(cloud().oss.store.openUploads()).toEqual([]);
  });

  it("elects exactly one winner among concurrent create-if-absent writes", async () => {
    const s = storage();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => s.put("race/winner", `writer ${i}`, { ifAbsent: true })));
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
