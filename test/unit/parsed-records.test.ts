import { describe, expect, it } from "vitest";
import { ParsedRecords } from "../../lib/jobs/parsed-records.js";
import type { Job } from "../../lib/jobs/schema.js";

const body = (state: string, pad = 0) => Buffer.from(JSON.stringify({ id: "job-1", state, pad: "x".repeat(pad) }));

describe("ParsedRecords", () => {
  it("parses a record's bytes once, and again only when they change", () => {
    let parses = 0;
    const parsed = new ParsedRecords((b) => {
      parses++;
      return JSON.parse(b.toString("utf8")) as Job;
    });
    const first = parsed.get("job-1", body("queued"));
    // The same bytes read again (a fresh buffer, as a new GET answers): the same record, not parsed again.
    expect(parsed.get("job-1", body("queued"))).toBe(first);
    expect(parses).toBe(1);
    const next = parsed.get("job-1", body("submitted"));
    expect(next.state).toBe("submitted");
    expect(parses).toBe(2);
  });

  it("shares only frozen records: a write through one throws instead of changing another reader's", () => {
    const parsed = new ParsedRecords((b) => JSON.parse(b.toString("utf8")) as Job);
    const job = parsed.get("job-1", Buffer.from('{"id":"job-1","state":"queued","output":{"audioKey":"a"}}'));
    expect(() => {
      (job as { state: string }).state = "done";
    }).toThrow(TypeError);
    expect(() => {
      (job.output as { audioKey: string }).audioKey = "b";
    }).toThrow(TypeError);
  });

  it("keeps at most its budget of bytes, forgetting the least recently read", () => {
    let parses = 0;
    const parsed = new ParsedRecords((b) => {
      parses++;
      return JSON.parse(b.toString("utf8")) as Job;
    }, 250);
    parsed.get("a", body("queued", 60));
    parsed.get("b", body("queued", 60));
    parsed.get("a", body("queued", 60)); // a is now the most recent
    parsed.get("c", body("queued", 60)); // over budget: b goes
    expect(parsed.bytes).toBeLessThanOrEqual(250);
    expect(parses).toBe(3);
    parsed.get("a", body("queued", 60));
    expect(parses).toBe(3);
    parsed.get("b", body("queued", 60));
    expect(parses).toBe(4);
    // A record larger than the budget is parsed and answered, never kept.
    parsed.get("big", body("queued", 400));
    parsed.get("big", body("queued", 400));
    expect(parses).toBe(6);
  });
});
