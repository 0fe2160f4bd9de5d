/**
 * Our small OSS signer against ali-oss's own, for the same inputs: the V4 Authorization header and the V1 presigned
 * URL. (Every request the signer makes is also verified by the local OSS emulator's authenticator in the integration
 * and end-to-end tests.)
 */
import OSS from "ali-oss";
// ali-oss's signing module, as its client calls it.
import * as signUtils from "ali-oss/lib/common/signUtils.js";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { authorizationV4, OssClient, v4Date, xmlText } from "../../lib/storage/oss-client.js";
import { decodeEntities } from "../../lib/text/xml.js";

const keyArb = fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((k) => !k.startsWith("/"));

describe("OSS V4 signing, against ali-oss's signer", () => {
  it("signs any key, query and x-oss headers exactly as ali-oss does", () => {
    fc.assert(
      fc.property(
        keyArb,
        fc.dictionary(
          fc.constantFrom("uploads", "uploadId", "partNumber", "prefix", "marker", "max-keys"),
          fc.option(
            fc.string({ maxLength: 12 }).filter((v) => v !== ""),
            { nil: null },
          ),
        ),
        fc.constantFrom("GET", "PUT", "POST", "DELETE", "HEAD"),
        fc.option(fc.constantFrom("audio/mpeg", "application/json"), { nil: undefined }),
        fc.option(fc.stringMatching(/^[A-Za-z0-9]{4,20}$/), { nil: undefined }),
        (key, query, method, type, token) => {
          const headers: Record<string, string> = {
            "x-oss-date": "20261130T142000Z",
            "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
            "x-oss-meta-voice": "xiaoyun",
            ...(type ? { "content-type": type } : {}),
            ...(token ? { "x-oss-security-token": token } : {}),
          };
          const ours = authorizationV4({
            method,
            bucket: "my-bucket",
            key,
            query,
            headers,
            region: "cn-shanghai",
            accessKeyId: "LTAI-id",
            accessKeySecret: "secret-value",
          });
          const theirs = signUtils.authorizationV4(
            "LTAI-id",
            "secret-value",
            "cn-shanghai",
            method,
            { headers: { ...headers }, queries: { ...query } },
            "my-bucket",
            key,
          );
          expect(ours).toBe(theirs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("formats the V4 date as OSS wants it", () => {
    expect(v4Date(new Date("2026-11-30T14:20:05.123Z"))).toBe("20261130T142005Z");
  });
});

describe("OSS presigned URLs, against ali-oss's signatureUrlV4", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const [name, endpoint, pathStyle] of [
    ["virtual-hosted, the regional endpoint", undefined, false],
    ["path-style, a custom endpoint", "http://localhost:9100", true],
  ] as const) {
    it(`makes the URL ali-oss makes for the same key, expiry and download name (${name})`, async () => {
      vi.useFakeTimers({ now: new Date("2026-11-30T14:20:05Z"), toFake: ["Date"] });
      const creds = { accessKeyId: "STS.id", accessKeySecret: "secret-value", securityToken: "tok+en/=" };
      const ours = new OssClient({
        bucket: "my-bucket",
        region: "oss-cn-shanghai",
        credentials: () => creds,
        ...(endpoint ? { endpoint } : {}),
        pathStyle,
      });
      const theirs = new OSS({
        bucket: "my-bucket",
        region: "oss-cn-shanghai",
        accessKeyId: creds.accessKeyId,
        accessKeySecret: creds.accessKeySecret,
        stsToken: creds.securityToken,
        ...(endpoint ? { endpoint } : {}),
        ...(pathStyle ? { sldEnable: true } : {}),
        secure: !endpoint,
      } as OSS.Options);
      for (const key of ["output/book one/第一章.mp3", "a+b (1)!.srt"]) {
        const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(key.split("/").pop()!)}`;
        const v4 = (
          theirs as unknown as {
            signatureUrlV4(m: string, e: number, r: object, k: string): Promise<string>;
          }
        ).signatureUrlV4.bind(theirs);
        expect(ours.signedUrl(key, 600, { "content-disposition": disposition })).toBe(
          await v4("GET", 600, { queries: { "response-content-disposition": disposition } }, key),
        );
        expect(ours.signedUrl(key, 3600)).toBe(await v4("GET", 3600, {}, key));
      }
    });
  }
});

describe("OSS XML answers", () => {
  it("reads a tag's text with its entities decoded", () => {
    const xml = "<Contents><Key>a &amp; b &lt;c&gt; &#20013;&#x6587; &quot;q&quot; &apos;</Key></Contents>";
    expect(xmlText(xml, "Key")).toBe(`a & b <c> 中文 "q" '`);
    expect(xmlText(xml, "Size")).toBeUndefined();
    expect(decodeEntities("&unknown; &amp;")).toBe("&unknown; &");
  });
});
