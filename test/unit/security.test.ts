import { describe, expect, it } from "vitest";
import { createLogger } from "../../lib/log.js";
import { isPrivateOrPublicAddress, isPublicAddress, literalAddress } from "../../lib/net/public-address.js";
import { nlsError } from "../../lib/providers/nls/errors.js";
import { registerSecret, scrubSecrets } from "../../lib/secrets.js";

describe("webhook addresses", () => {
  it.each([
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "::ffff:192.168.1.1",
    "169.254.169.254",
    "100.100.100.200",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "255.255.255.255",
  ])("refuses %s", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(["8.8.8.8", "47.100.1.1", "2408:4000::1", "::ffff:8.8.8.8"])("accepts the public %s", (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it("reads every spelling WHATWG URL normalises to one address", () => {
    for (const url of [
      "http://0x7f.1/",
      "http://2130706433/",
      "http://[::ffff:127.0.0.1]:9650/hook",
      "http://127.000.000.001/",
    ]) {
      const literal = literalAddress(new URL(url).hostname);
      expect(literal, url).toBeDefined();
      expect(isPublicAddress(literal!), url).toBe(false);
    }
    expect(literalAddress(new URL("http://hooks.example.com/").hostname)).toBeUndefined();
  });

  it("WEBHOOK_ALLOW_PRIVATE's rule admits loopback and private ranges, never link-local or the metadata service", () => {
    expect(isPrivateOrPublicAddress("127.0.0.1")).toBe(true);
    expect(isPrivateOrPublicAddress("10.1.2.3")).toBe(true);
    expect(isPrivateOrPublicAddress("100.100.100.200")).toBe(false);
    expect(isPrivateOrPublicAddress("169.254.169.254")).toBe(false);
    expect(isPrivateOrPublicAddress("::ffff:169.254.169.254")).toBe(false);
  });
});

describe("our credentials in upstream text", () => {
  it("never survive in a provider error, its message or a log line", () => {
    const token = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
    registerSecret(token);
    const error = nlsError({
      code: 40000001,
      upstreamMessage: `Gateway:ACCESS_DENIED:The token '${token}' is invalid!`,
    });
    expect(error.upstreamMessage).not.toContain(token);
    expect(error.message).not.toContain(token);
    expect(error.upstreamMessage).toMatch(/The token '\[redacted\]' is invalid!/);
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l) }).warn("relayed", {
      text: `upstream said ${token}`,
      nested: { deep: [`bearer ${token}`] },
    });
    expect(lines.join("")).not.toContain(token);
  });

  it("scrubs a quoted token it has never seen, by its shape", () => {
    expect(scrubSecrets("The token 'unseen0123456789abcdef' is invalid!")).toBe("The token '[redacted]' is invalid!");
    expect(scrubSecrets("Authorization: Bearer sk-abcdef0123456789")).not.toMatch(/abcdef0123456789/);
  });
});
