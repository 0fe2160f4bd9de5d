import { describe, expect, it } from "vitest";
import { AccessKeyRegistry } from "../../infra/local/access-keys.js";
import { parseRpcParams, RpcVerifier, rpcStringToSign, signRpc } from "../../infra/local/pop/rpc-signature.js";

const creds = new AccessKeyRegistry([{ accessKeyId: "AKID-test", accessKeySecret: "secret", userId: "1" }]);

function signed(overrides: Record<string, string> = {}): Record<string, string> {
  const params = {
    AccessKeyId: "AKID-test",
    Action: "CreateToken",
    Format: "JSON",
    SignatureMethod: "HMAC-SHA1",
    SignatureNonce: Math.random().toString(16),
    SignatureVersion: "1.0",
    Timestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    Version: "2019-02-28",
    ...overrides,
  };
  return { ...params, Signature: signRpc("secret", rpcStringToSign("GET", params)) };
}

describe("POP RPC signature verification", () => {
  it("reproduces the string to sign captured from pop-core (peers.md §3)", () => {
    const params = parseRpcParams(
      "AccessKeyId=AKID-test&Action=CreateToken&Format=JSON&SignatureMethod=HMAC-SHA1&SignatureNonce=36041e4fa9bd15102d809ed9fc69b588&SignatureVersion=1.0&Timestamp=2026-11-23T16%3A44%3A38Z&Version=2019-02-28",
    );
    expect(rpcStringToSign("GET", params)).toBe(
      "GET&%2F&AccessKeyId%3DAKID-test%26Action%3DCreateToken%26Format%3DJSON%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D36041e4fa9bd15102d809ed9fc69b588%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-23T16%253A44%253A38Z%26Version%3D2019-02-28",
    );
  });

  it("accepts a correct signature once and refuses a replayed nonce", () => {
    const verifier = new RpcVerifier(creds);
    const params = signed();
    expect(verifier.verify("GET", params).ok).toBe(true);
    expect(verifier.verify("GET", params)).toMatchObject({ ok: false, error: { code: "SignatureNonceUsed" } });
  });

  it("refuses a tampered parameter, an unknown key and a stale timestamp", () => {
    const verifier = new RpcVerifier(creds);
    expect(verifier.verify("GET", { ...signed(), Action: "DeleteEverything" })).toMatchObject({
      ok: false,
      error: { code: "SignatureDoesNotMatch" },
    });
    expect(verifier.verify("GET", signed({ AccessKeyId: "nobody" }))).toMatchObject({
      ok: false,
      error: { code: "InvalidAccessKeyId.NotFound" },
    });
    expect(verifier.verify("GET", signed({ Timestamp: "2020-01-01T00:00:00Z" }))).toMatchObject({
      ok: false,
      error: { code: "InvalidTimeStamp.Expired" },
    });
  });
});
