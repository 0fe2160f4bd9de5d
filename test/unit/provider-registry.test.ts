import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { ConfigSchema, SECRET_NAMES } from "../../lib/config.js";
import { PROVIDERS, ProviderNameSchema, StreamProviderSchema } from "../../lib/provider-registry.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine() });

describe("the provider registry", () => {
  it("derives the job and streaming provider lists from one table", () => {
    expect(ProviderNameSchema.options).toEqual(["nls", "ice", "minimax"]);
    expect(StreamProviderSchema.options).toEqual(["nls", "minimax", "cosyvoice"]);
  });

  it("lists only configuration variables that exist, and every provider variable belongs to a provider", () => {
    const known = new Set(Object.keys(ConfigSchema.shape));
    const listed = new Set<string>(Object.values(PROVIDERS).flatMap((p) => [...p.config]));
    expect([...listed].filter((name) => !known.has(name))).toEqual([]);
    // A variable of a provider's own (by its prefix) that no provider lists would be configuration nobody owns.
    const providerVars = [...known].filter((name) => /^(NLS|ICE|DASHSCOPE|COSYVOICE|MINIMAX)_/.test(name));
    expect(providerVars.filter((name) => !listed.has(name))).toEqual([]);
  });

  it("has each provider's secret variables marked for redaction", () => {
    const secrets = Object.values(PROVIDERS)
      .flatMap((p) => [...p.config])
      .filter((name) => /SECRET|TOKEN|API_KEY|AUTH_KEY/.test(name));
    expect(secrets.length).toBeGreaterThan(0);
    for (const name of secrets) expect(SECRET_NAMES).toContain(name);
  });

  it("has each provider emulated by the local cloud: one of its endpoints points at 127.0.0.1", () => {
    const env = cloud().env();
    for (const [name, entry] of Object.entries(PROVIDERS)) {
      const endpoints = entry.config.filter((v) => /_(URL|ENDPOINT)$/.test(v) && env[v]?.includes("127.0.0.1"));
      expect(endpoints, `${name} has no emulator in infra/local (none of its endpoints in cloud.env())`).not.toEqual(
        [],
      );
    }
  });
});
