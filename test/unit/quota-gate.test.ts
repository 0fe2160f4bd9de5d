import { describe, expect, it } from "vitest";
import { QuotaGate } from "../../infra/local/quota.js";

describe("QuotaGate (an emulated account quota)", () => {
  it("admits up to its concurrency, and one more as each task ends, however often `end` is called", () => {
    const gate = new QuotaGate({ concurrency: 2 }, () => 0);
    const a = gate.admit()!;
    const b = gate.admit()!;
    expect(gate.admit()).toBeUndefined();
    a.end();
    a.end();
    expect(gate.stats.running).toBe(1);
    expect(gate.admit()).toBeDefined();
    expect(gate.admit()).toBeUndefined();
    b.end();
    expect(gate.stats).toMatchObject({ admitted: 3, refused: 2, peak: 2, running: 1 });
  });

  it("counts calls started per clock second, a fixed window as a gateway's counter is", () => {
    let now = 10_900;
    const gate = new QuotaGate({ perSecond: 2 }, () => now);
    gate.admit()!.end();
    gate.admit()!.end();
    expect(gate.admit()).toBeUndefined(); // ended or not, a third start in second 10 is over the rate
    now = 11_000;
    expect(gate.admit()).toBeDefined();
    expect(gate.admit()).toBeDefined();
    expect(gate.admit()).toBeUndefined();
    now = 12_999;
    expect(gate.admit()).toBeDefined();
    expect(gate.stats).toMatchObject({ admitted: 5, refused: 2 });
  });

  it("integrates tasks held over time, the figure throughput is measured against", () => {
    let now = 0;
    const gate = new QuotaGate({ concurrency: 4 }, () => now);
    const a = gate.admit()!;
    now = 1000;
    const b = gate.admit()!;
    now = 3000;
    a.end();
    b.end();
    now = 5000;
    gate.admit();
    expect(gate.stats.heldMs).toBe(1000 + 2 * 2000);
    gate.reset();
    now = 6000;
    gate.admit();
    expect(gate.stats.heldMs).toBe(1000);
    expect(gate.stats.admitted).toBe(1);
  });
});
