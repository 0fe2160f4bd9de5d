import { describe, expect, it } from "vitest";
import { isAllowed, type PolicyDocument } from "../../infra/local/ram/policy.js";
import { policyValues, renderPolicy } from "../../infra/ram/render.js";

const policy = renderPolicy(policyValues({ OSS_BUCKET: "b-1", ALIBABA_CLOUD_ACCOUNT_ID: "42" })) as PolicyDocument;

const oss = (action: string, key: string, context?: Record<string, string>) =>
  isAllowed(policy, { action, resource: `acs:oss:cn-shanghai:42:b-1${key ? `/${key}` : ""}`, context });

describe("RAM policy evaluation, on the functions' own policy", () => {
  it("grants what each statement names and nothing near it", () => {
    expect(oss("oss:GetObject", "input/a.txt")).toBe(true);
    expect(oss("oss:PutObject", "input/a.txt")).toBe(false);
    expect(oss("oss:PutObject", "output/a.mp3")).toBe(true);
    expect(oss("oss:DeleteObject", "output/a.mp3")).toBe(false);
    expect(oss("oss:DeleteObject", "output/a/b.error.json")).toBe(true);
    expect(oss("oss:GetObject", "elsewhere/a")).toBe(false);
    // A wildcard in a resource is not a prefix match on the bucket: another bucket is another resource.
    expect(isAllowed(policy, { action: "oss:GetObject", resource: "acs:oss:cn-shanghai:42:b-10/input/a.txt" })).toBe(
      false,
    );
  });

  it("applies a listing's prefix condition, and refuses a listing without one", () => {
    expect(oss("oss:ListObjects", "", { "oss:Prefix": "jobs/records/" })).toBe(true);
    expect(oss("oss:ListObjects", "", { "oss:Prefix": "output/" })).toBe(false);
    expect(oss("oss:ListObjects", "")).toBe(false);
  });

  it("matches actions case-insensitively, and lets an explicit Deny win", () => {
    expect(isAllowed(policy, { action: "FC:invokefunction", resource: "acs:fc:cn-shanghai:42:functions/submit" })).toBe(
      true,
    );
    expect(isAllowed(policy, { action: "fc:InvokeFunction", resource: "acs:fc:cn-shanghai:42:functions/speech" })).toBe(
      false,
    );
    const denied: PolicyDocument = {
      ...policy,
      Statement: [
        ...policy.Statement,
        { Effect: "Deny", Action: "oss:*", Resource: "acs:oss:*:*:b-1/output/secret/*" },
      ],
    };
    expect(isAllowed(denied, { action: "oss:GetObject", resource: "acs:oss:cn-shanghai:42:b-1/output/secret/x" })).toBe(
      false,
    );
    expect(isAllowed(denied, { action: "oss:GetObject", resource: "acs:oss:cn-shanghai:42:b-1/output/open/x" })).toBe(
      true,
    );
  });
});
