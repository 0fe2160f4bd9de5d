import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";

describe("createLogger", () => {
  it("writes one JSON line per entry with the child's request and job ids", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), now: () => new Date("2026-01-01T00:00:00Z") }).child({
      requestId: "r-1",
      jobId: "j-1",
    });
    log.info("job submitted", { provider: "nls" });
    expect(JSON.parse(lines[0]!)).toEqual({
      time: "2026-01-01T00:00:00.000Z",
      level: "info",
      msg: "job submitted",
      requestId: "r-1",
      jobId: "j-1",
      provider: "nls",
    });
  });

  it("redacts secrets at any depth and reduces errors to name, code and message", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    log.error("failed", {
      accessKeySecret: "s3cr3t",
      nested: { token: "t0k3n", headers: { Authorization: "Bearer k3y" } },
      error: new UpstreamError({ provider: "nls", code: 51020001 }),
    });
    const line = lines[0]!;
    expect(line).not.toMatch(/s3cr3t|t0k3n|k3y/);
    expect(JSON.parse(line).error).toMatchObject({ name: "UpstreamError", providerCode: "51020001" });
  });

  it("drops entries below the level", () => {
    const lines: string[] = [];
    createLogger({ level: "warn", write: (l) => lines.push(l) }).info("quiet");
    expect(lines).toEqual([]);
  });
});
