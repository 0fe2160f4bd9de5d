import OSS from "ali-oss";
import { describe, expect, it } from "vitest";
import { useLocalCloud } from "../helpers/local-cloud.js";

// The V1 cases play a bucket that still accepts V1 (made before 2025-09-01); the default refuses it (below).
const cloud = useLocalCloud({ oss: { allowV1: true } });

function client(
  opts: { v4?: boolean; secret?: string; pathStyle?: boolean; accessKeyId?: string; stsToken?: string } = {},
): OSS {
  const c = cloud();
  const port = new URL(c.urls.oss).port;
  return new OSS({
    bucket: c.bucket,
    region: `oss-${c.region}`,
    accessKeyId: opts.accessKeyId ?? c.accessKey.accessKeyId,
    accessKeySecret: opts.secret ?? c.accessKey.accessKeySecret,
    ...(opts.stsToken ? { stsToken: opts.stsToken } : {}),
    endpoint: opts.pathStyle === false ? `http://127.0.0.1:${port}` : `http://localhost:${port}`,
    ...(opts.pathStyle === false ? {} : { sldEnable: true }),
    authorizationV4: opts.v4 ?? false,
    secure: false,
  } as OSS.Options);
}

describe("OSS emulator with the real ali-oss client", () => {
  for (const [name, opts] of [
    ["V1, path-style", { v4: false }],
    ["V4, path-style", { v4: true }],
    ["V1, bucket in the Host header (IP endpoint)", { v4: false, pathStyle: false }],
    ["V4, bucket in the Host header (IP endpoint)", { v4: true, pathStyle: false }],
  ] as const) {
    it(`puts, heads, gets and deletes an object with metadata (${name})`, async () => {
      const oss = client(opts);
      const key = `dir/测试 a+b ${name}.mp3`;
      await oss.put(key, Buffer.from("hello audio"), { meta: { voice: "xiaoyun" } as unknown as OSS.UserMeta });
      const head = await oss.head(key);
      expect(head.meta).toMatchObject({ voice: "xiaoyun" });
      expect((head.res.headers as Record<string, string>)["content-type"]).toBe("audio/mpeg");
      expect((await oss.get(key)).content.toString()).toBe("hello audio");
      await oss.delete(key);
      await expect(oss.head(key)).rejects.toMatchObject({ status: 404 });
    });
  }

  it("models the network to OSS: with latencyMs each answer comes one round trip later", async () => {
    const oss = client();
    await oss.put("latency/a", Buffer.from("x"));
    const faults = cloud().oss.faults;
    faults.latencyMs = 150;
    try {
      const t0 = performance.now();
      await oss.head("latency/a");
      expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
    } finally {
      faults.latencyMs = 0;
    }
    const t1 = performance.now();
    await oss.head("latency/a");
    expect(performance.now() - t1).toBeLessThan(145);
  });

  it("answers a wrong secret with 403 SignatureDoesNotMatch in OSS's XML error body", async () => {
    for (const v4 of [false, true]) {
      const err = await client({ v4, secret: "wrong-secret" })
        .put("x.txt", Buffer.from("x"))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
    }
    const raw = await fetch(`${cloud().urls.oss}/${cloud().bucket}/x.txt`, {
      headers: { authorization: "OSS nobody:abc", "x-oss-date": new Date().toUTCString() },
    });
    const body = await raw.text();
    expect(raw.status).toBe(403);
    expect(body).toMatch(/<Error>\s*<Code>InvalidAccessKeyId<\/Code>/);
    expect(body).toMatch(/<RequestId>/);
  });

  it("refuses anonymous access to the private bucket", async () => {
    await client().put("private.txt", Buffer.from("p"));
    const res = await fetch(`${cloud().urls.oss}/${cloud().bucket}/private.txt`);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/<Code>AccessDenied<\/Code>/);
  });

  it("requires the STS security token for STS credentials", async () => {
    const c = cloud();
    c.credentials.add({
      accessKeyId: "STS.local",
      accessKeySecret: "sts-secret",
      securityToken: "tok/with+chars=",
      userId: c.accessKey.userId,
    });
    await client({ accessKeyId: "STS.local", secret: "sts-secret", stsToken: "tok/with+chars=" }).put(
      "sts.txt",
      Buffer.from("s"),
    );
    await expect(
      client({ accessKeyId: "STS.local", secret: "sts-secret" }).put("sts.txt", Buffer.from("s")),
    ).rejects.toMatchObject({ status: 403, code: "InvalidSecurityToken" });
  });

  it("refuses to overwrite with x-oss-forbid-overwrite: 409 FileAlreadyExists", async () => {
    const oss = client({ v4: true });
    await oss.put("once.txt", Buffer.from("first"), { headers: { "x-oss-forbid-overwrite": "true" } });
    await expect(
      oss.put("once.txt", Buffer.from("second"), { headers: { "x-oss-forbid-overwrite": "true" } }),
    ).rejects.toMatchObject({ status: 409, code: "FileAlreadyExists" });
    expect((await oss.get("once.txt")).content.toString()).toBe("first");
    await oss.put("once.txt", Buffer.from("third"));
    expect((await oss.get("once.txt")).content.toString()).toBe("third");
  });

  it("assembles a multipart upload and refuses a non-last part under 100 KiB", async () => {
    const oss = client({ v4: true });
    const a = Buffer.alloc(100 * 1024, 1);
    const b = Buffer.alloc(5000, 2);
    const { uploadId } = await oss.initMultipartUpload("mp/big.bin");
    const p1 = await oss.uploadPart("mp/big.bin", uploadId, 1, a, 0, a.length);
    const p2 = await oss.uploadPart("mp/big.bin", uploadId, 2, b, 0, b.length);
    await oss.completeMultipartUpload("mp/big.bin", uploadId, [
      { number: 1, etag: p1.etag },
      { number: 2, etag: p2.etag },
    ]);
    const got = (await oss.get("mp/big.bin")).content as Buffer;
    expect(got.equals(Buffer.concat([a, b]))).toBe(true);
    // Completion keeps the parts' files (renamed, not copied into one), and reads of any range cross them.
    const meta = cloud().oss.files.head(cloud().bucket, "mp/big.bin")!;
    expect(meta.files.map((f) => f.size)).toEqual([a.length, b.length]);
    const span = (await oss.get("mp/big.bin", { headers: { Range: `bytes=${a.length - 3}-${a.length + 2}` } }))
      .content as Buffer;
    expect([...span]).toEqual([1, 1, 1, 2, 2, 2]);
    const tail = (await oss.get("mp/big.bin", { headers: { Range: `bytes=${a.length + 4990}-` } })).content as Buffer;
    expect(tail.equals(b.subarray(4990))).toBe(true);

    const small = await oss.initMultipartUpload("mp/small.bin");
    const s1 = await oss.uploadPart("mp/small.bin", small.uploadId, 1, b, 0, b.length);
    const s2 = await oss.uploadPart("mp/small.bin", small.uploadId, 2, b, 0, b.length);
    await expect(
      oss.completeMultipartUpload("mp/small.bin", small.uploadId, [
        { number: 1, etag: s1.etag },
        { number: 2, etag: s2.etag },
      ]),
    ).rejects.toMatchObject({ code: "EntityTooSmall" });
    await oss.abortMultipartUpload("mp/small.bin", small.uploadId);
    expect(cloud().oss.files.openUploads()).toEqual([]);
  });

  it("lists by prefix with max-keys and marker", async () => {
    const oss = client();
    for (const k of ["list/a", "list/b", "list/c", "other/d"]) await oss.put(k, Buffer.from(k));
    const first = await oss.list({ prefix: "list/", "max-keys": 2 }, {});
    expect(first.objects.map((o) => o.name)).toEqual(["list/a", "list/b"]);
    expect(first.isTruncated).toBe(true);
    const second = await oss.list({ prefix: "list/", "max-keys": 2, marker: first.nextMarker }, {});
    expect(second.objects.map((o) => o.name)).toEqual(["list/c"]);
  });

  it("serves signed URLs until they expire, and refuses tampered ones", async () => {
    const oss = client();
    await oss.put("signed/a.txt", Buffer.from("signed content"));
    const url = oss.signatureUrl("signed/a.txt", { expires: 60 });
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("signed content");
    expect((await fetch(url.replace("a.txt", "b.txt"))).status).toBe(403);
    const expired = oss.signatureUrl("signed/a.txt", { expires: -10 });
    const res = await fetch(expired);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/Request has expired/);
  });

  it("serves byte ranges", async () => {
    const oss = client();
    await oss.put("range.bin", Buffer.from("0123456789"));
    const res = await oss.get("range.bin", { headers: { Range: "bytes=2-5" } });
    expect(res.content.toString()).toBe("2345");
  });
});

describe("the OSS emulator's store on disk", () => {
  it("keeps small objects (in their sidecar) and large ones (files) across a restart, and replaces and deletes both", async () => {
    const { mkdtemp, readdir, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { Readable } = await import("node:stream");
    const { BucketFiles } = await import("../../infra/local/oss/bucket-files.js");
    const dir = await mkdtemp(join(tmpdir(), "oss-store-"));
    try {
      const small = Buffer.from('{"state":"queued"}');
      const large = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
      const opts = { contentType: "application/octet-stream", userMeta: { a: "1" }, forbidOverwrite: false };
      const first = new BucketFiles(dir, ["b"]);
      await first.init();
      // Chunks as a socket delivers them: the large body crosses the store's 1 MiB write batches unevenly.
      const chunks = (b: Buffer) =>
        Readable.from(
          Array.from({ length: Math.ceil(b.length / 65_000) }, (_, i) => b.subarray(i * 65_000, (i + 1) * 65_000)),
        );
      await first.put("b", "rec.json", chunks(small), opts);
      await first.put("b", "big.bin", chunks(large), opts);
      await first.put("b", "gone.json", chunks(small), opts);
      await first.delete("b", "gone.json");
      const read = async (store: InstanceType<typeof BucketFiles>, key: string) =>
        Buffer.concat(await store.read(store.head("b", key)!).toArray());

      const second = new BucketFiles(dir, ["b"]);
      await second.init();
      expect((await read(second, "rec.json")).equals(small)).toBe(true);
      expect((await read(second, "big.bin")).equals(large)).toBe(true);
      expect(second.head("b", "rec.json")).toMatchObject({ size: small.length, userMeta: { a: "1" } });
      expect(second.head("b", "gone.json")).toBeUndefined();
      expect(second.bytes(second.head("b", "rec.json")!, { start: 2, end: 6 })?.toString()).toBe("state");

      // Replacing a large object with a small one (and back) leaves no file behind.
      await second.put("b", "big.bin", chunks(small), opts);
      await second.put("b", "rec.json", chunks(large), opts);
      expect(await readdir(join(dir, "b", "data"))).toHaveLength(1);
      expect(await readdir(join(dir, "tmp"))).toEqual([]);
      const third = new BucketFiles(dir, ["b"]);
      await third.init();
      expect((await read(third, "big.bin")).equals(small)).toBe(true);
      expect((await read(third, "rec.json")).equals(large)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
