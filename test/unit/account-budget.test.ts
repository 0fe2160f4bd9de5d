import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AccountBudget,
  type AccountBudget as Budget,
  type Lease,
  type LeaseRequest,
} from "../../lib/budget/account-budget.js";
import { fairShares } from "../../lib/budget/fair-share.js";
import { interactiveLease, STREAM_LEASE_PATIENCE } from "../../lib/budget/interactive.js";
import { BudgetKeys } from "../../lib/budget/lease-keys.js";
import type { ProviderBudget } from "../../lib/budget/schema.js";
import { AppError } from "../../lib/errors.js";
import { type Bucket, MemoryBucket } from "../../lib/storage/bucket.js";

const isLease = (x: Lease | { refused: string }): x is Lease => !("refused" in x);

function setup(limits: ProviderBudget, bucket: Bucket = new MemoryBucket()) {
  const clock = { now: 1_000_000_100 };
  const budget = new AccountBudget({
    bucket,
    root: "jobs/budget/",
    limits,
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
    },
    random: () => 0.5,
  });
  return { budget, clock, bucket };
}

const req = (over: Partial<LeaseRequest> & { holder: string }): LeaseRequest => ({
  api: "minimax",
  tenant: "t1",
  group: "g1",
  cls: "background",
  ttlMs: 60_000,
  ...over,
});

async function take(budget: Budget, r: LeaseRequest): Promise<Lease | undefined> {
  const got = await budget.tryTake(r);
  return isLease(got) ? got : undefined;
}

describe("lease keys", () => {
  it("carry everything a listing needs, and split back exactly whatever the names hold", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        (tenant, group, holder) => {
          const lease = { tenant, group, holder, cls: "interactive" as const, weight: 2, expiresAt: 1_765_000_000_000 };
          const keys = new BudgetKeys("jobs/budget/");
          expect(keys.parseLease("nls-ws", keys.lease("nls-ws", lease))).toEqual(lease);
          const waiter = { tenant, group, holder, since: 5, expiresAt: 9 };
          expect(keys.parseWaiter("ice", keys.waiter("ice", waiter))).toEqual(waiter);
        },
      ),
    );
  });
});

describe("fair shares (max-min)", () => {
  it("gives each at most its demand, and the rest evenly", () => {
    expect(
      fairShares(
        10,
        new Map([
          ["a", 100],
          ["b", 2],
          ["c", 100],
        ]),
      ),
    ).toEqual(
      new Map([
        ["b", 2],
        ["a", 4],
        ["c", 4],
      ]),
    );
    expect(
      fairShares(
        5,
        new Map([
          ["a", 9],
          ["b", 9],
        ]),
      ),
    ).toEqual(
      new Map([
        ["a", 2.5],
        ["b", 2.5],
      ]),
    );
  });
});

describe("AccountBudget", () => {
  it("takes no lease and writes nothing for an API without a budget", async () => {
    const { budget, bucket } = setup({});
    const lease = await take(budget, req({ holder: "h" }));
    expect(lease?.key).toBeUndefined();
    expect((bucket as MemoryBucket).ops).toHaveLength(0);
  });

  it("grants up to the concurrency, refuses the next, and grants again when one is given back", async () => {
    const { budget } = setup({ minimax: { concurrency: 3, interactive: 0, interactivePerSecond: 0 } });
    const held = [
      await take(budget, req({ holder: "a" })),
      await take(budget, req({ holder: "b", tenant: "t2" })),
      await take(budget, req({ holder: "c", tenant: "t3" })),
    ];
    expect(held.every(Boolean)).toBe(true);
    const refused = await budget.tryTake(req({ holder: "d", tenant: "t4" }));
    expect(refused).toMatchObject({ refused: "concurrency" });
    await held[0]!.give();
    await held[0]!.give();
    expect(await take(budget, req({ holder: "d", tenant: "t4" }))).toBeDefined();
    expect((await budget.snapshot("minimax")).leases).toHaveLength(3);
  });

  it("renews a stream's lease past its first term, counting it once throughout; give deletes the renewed one", async () => {
    const { budget, clock } = setup({ minimax: { concurrency: 1, interactive: 1, interactivePerSecond: 0 } });
    const stream = (holder: string) => req({ holder, cls: "interactive", ttlMs: 60_000 });
    const lease = (await take(budget, stream("live")))!;
    const first = lease.key;
    clock.now += 40_000;
    await lease.renew(60_000);
    expect(lease.key).not.toBe(first);
    // Past the first term, the renewed lease still counts: the task is still taken.
    clock.now += 30_000;
    const { leases } = await budget.snapshot("minimax");
    expect(leases.map((l) => l.key)).toEqual([lease.key]);
    expect(await budget.tryTake(stream("other"))).toMatchObject({ refused: "concurrency" });
    await lease.give();
    expect((await budget.snapshot("minimax")).leases).toEqual([]);
    expect(await take(budget, stream("other"))).toBeDefined();
  });

  it("counts a stream's lease once while a renewal has written the new key and not yet deleted the old", async () => {
    const { budget, bucket } = setup({ minimax: { concurrency: 2, interactive: 0, interactivePerSecond: 0 } });
    const lease = (await take(budget, req({ holder: "live", cls: "interactive" })))!;
    // The renewed key is written, the old one still there: what a listing between the two steps sees.
    const keys = new BudgetKeys("jobs/budget/");
    const renewed = keys.lease("minimax", { ...keys.parseLease("minimax", lease.key!)!, expiresAt: 1_000_090_100 });
    await bucket.put(renewed, "");
    expect((await budget.snapshot("minimax")).leases.map((l) => l.key)).toEqual([renewed]);
    expect(await take(budget, req({ holder: "next", cls: "interactive" }))).toBeDefined();
    // Background leases are never merged: a retried attempt's two leases both count.
    const { budget: b2, bucket: k2 } = setup({ minimax: { concurrency: 3, interactive: 0, interactivePerSecond: 0 } });
    const job = (await take(b2, req({ holder: "job.0" })))!;
    await k2.put(keys.lease("minimax", { ...keys.parseLease("minimax", job.key!)!, expiresAt: 1_000_090_100 }), "");
    expect((await b2.snapshot("minimax")).leases).toHaveLength(2);
  });

  it("keeps the interactive share from batches and jobs; streams may take any free task, and are refused past all", async () => {
    const { budget } = setup({ minimax: { concurrency: 4, interactive: 1, interactivePerSecond: 0 } });
    for (const [i, t] of ["t1", "t2", "t3"].entries())
      expect(await take(budget, req({ holder: `b${i}`, tenant: t }))).toBeDefined();
    expect(await budget.tryTake(req({ holder: "b3", tenant: "t4" }))).toMatchObject({ refused: "concurrency" });
    expect(await take(budget, req({ holder: "s1", cls: "interactive", tenant: "t4" }))).toBeDefined();
    expect(await budget.tryTake(req({ holder: "s2", cls: "interactive", tenant: "t5" }))).toMatchObject({
      refused: "concurrency",
    });
  });

  it("counts a stream that looks ahead by its weight", async () => {
    const { budget } = setup({ "nls-ws": { concurrency: 3, interactive: 0, interactivePerSecond: 0 } });
    expect(await take(budget, req({ api: "nls-ws", holder: "s1", cls: "interactive", weight: 2 }))).toBeDefined();
    expect(await budget.tryTake(req({ api: "nls-ws", holder: "s2", cls: "interactive", weight: 2 }))).toMatchObject({
      refused: "concurrency",
    });
    expect(await take(budget, req({ api: "nls-ws", holder: "s3", cls: "interactive" }))).toBeDefined();
  });

  it("lets a dead holder's lease lapse, and reclaim deletes it", async () => {
    const { budget, clock } = setup({ minimax: { concurrency: 1, interactive: 0, interactivePerSecond: 0 } });
    expect(await take(budget, req({ holder: "dies", ttlMs: 5000 }))).toBeDefined();
    expect(await budget.tryTake(req({ holder: "next", tenant: "t2" }))).toMatchObject({ refused: "concurrency" });
    clock.now += 5000;
    expect(await budget.reclaim()).toMatchObject({ leases: 1 });
    expect(await take(budget, req({ holder: "next", tenant: "t2" }))).toBeDefined();
  });

  it("starts at most perSecond calls in a clock second, none in its last 20 ms, and the interactive share only for streams", async () => {
    const { budget, clock } = setup({ minimax: { perSecond: 3, interactivePerSecond: 1, interactive: 0 } });
    clock.now = 2_000_000_000_000; // the start of a second
    expect(await take(budget, req({ holder: "a" }))).toBeDefined();
    expect(await take(budget, req({ holder: "b" }))).toBeDefined();
    expect(await budget.tryTake(req({ holder: "c" }))).toMatchObject({ refused: "rate", retryAfterMs: 1000 });
    expect(await take(budget, req({ holder: "s", cls: "interactive" }))).toBeDefined();
    expect(await budget.tryTake(req({ holder: "s2", cls: "interactive" }))).toMatchObject({ refused: "rate" });
    clock.now += 985;
    expect(await budget.tryTake(req({ holder: "c" }))).toMatchObject({ refused: "rate", retryAfterMs: 15 });
    clock.now += 15;
    expect(await take(budget, req({ holder: "c" }))).toBeDefined();
    clock.now += 61_000;
    expect((await budget.reclaim()).tickets).toBe(4);
  });

  it("shares batches' tasks fairly by tenant: a tenant's small job is served before a big batch takes another", async () => {
    const { budget } = setup({ minimax: { concurrency: 4, interactive: 0, interactivePerSecond: 0 } });
    const big = [];
    for (let i = 0; i < 4; i++)
      big.push((await take(budget, req({ holder: `big${i}`, tenant: "big", group: "batch" })))!);
    // The small tenant waits (its marker is written), while the big batch has more items asking.
    expect(await budget.take(req({ holder: "small", tenant: "small", group: "job" }), { waitMs: 0 })).toBeUndefined();
    await budget.take(req({ holder: "big4", tenant: "big", group: "batch" }), { waitMs: 0 });
    await big[0]!.give();
    // One task free: the big batch's next item is over its share (3 of 4 with two tenants asking); the small job is not.
    expect(await budget.tryTake(req({ holder: "big4", tenant: "big", group: "batch" }))).toMatchObject({
      refused: "share",
    });
    const small = await budget.take(req({ holder: "small", tenant: "small", group: "job" }), { waitMs: 0 });
    expect(small?.key).toBeDefined();
    expect((await budget.snapshot("minimax")).waiters.map((w) => w.holder)).toEqual(["big4"]);
  });

  it("serves a batch's waiting items oldest first", async () => {
    const { budget, clock } = setup({ minimax: { concurrency: 1, interactive: 0, interactivePerSecond: 0 } });
    const first = (await take(budget, req({ holder: "x" })))!;
    expect(await budget.take(req({ holder: "old" }), { waitMs: 0 })).toBeUndefined();
    clock.now += 10;
    expect(await budget.take(req({ holder: "young" }), { waitMs: 0 })).toBeUndefined();
    await first.give();
    expect(await budget.tryTake(req({ holder: "young" }), clock.now)).toMatchObject({ refused: "share" });
    expect(await budget.take(req({ holder: "old" }), { waitMs: 0 })).toBeDefined();
  });

  it("waits, polling, until a lease is given back, within the time it may wait", async () => {
    const { budget, clock } = setup({ minimax: { concurrency: 1, interactive: 0, interactivePerSecond: 0 } });
    const first = (await take(budget, req({ holder: "x", ttlMs: 3000 })))!;
    const started = clock.now;
    expect(first.key).toBeDefined();
    const second = await budget.take(req({ holder: "y" }), { waitMs: 10_000 });
    expect(second?.key).toBeDefined(); // the first lapsed after 3 s
    expect(clock.now - started).toBeGreaterThanOrEqual(3000);
    expect(clock.now - started).toBeLessThan(3300);
    expect((await budget.snapshot("minimax")).waiters).toHaveLength(0);
  });

  it("wakes this process's oldest waiter when a lease is given back here, not at its next poll", async () => {
    const bucket = new MemoryBucket();
    // Sleeps that end only when the test says: a waiter that asks again before then was woken.
    const naps: Array<() => void> = [];
    const budget = new AccountBudget({
      bucket,
      root: "jobs/budget/",
      limits: { minimax: { concurrency: 1, interactive: 0, interactivePerSecond: 0 } },
      now: () => 1_000_000_100,
      sleep: () => new Promise<void>((r) => naps.push(r)),
      random: () => 0.5,
    });
    const first = (await take(budget, req({ holder: "x" })))!;
    let granted: Lease | undefined;
    const waiting = budget.take(req({ holder: "y" }), { waitMs: 60_000 }).then((l) => (granted = l));
    while (naps.length === 0) await new Promise((r) => setImmediate(r));
    const attempts = budget.stats.attempts;
    expect(granted).toBeUndefined();
    await first.give();
    await waiting;
    expect(granted?.key).toBeDefined();
    expect(budget.stats.attempts).toBe(attempts + 1); // one ask, at the wake: no poll came due
  });
  it("never has more tasks live than its concurrency, however calls interleave (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(
          fc.record({
            cls: fc.constantFrom("interactive", "background"),
            tenant: fc.constantFrom("a", "b", "c"),
            weight: fc.integer({ min: 1, max: 2 }),
            delays: fc.array(fc.nat(3), { minLength: 8, maxLength: 8 }),
            renewals: fc.nat(2),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (concurrency, reserve, calls) => {
          const interactive = Math.min(reserve, concurrency - 1);
          const inner = new MemoryBucket();
          // Each caller's OSS requests take a number of turns of its own: the callers interleave arbitrarily.
          const slowed = (delays: number[]): Bucket => {
            let n = 0;
            const pause = async () => {
              for (let i = 0; i < (delays[n++ % delays.length] ?? 0); i++) await Promise.resolve();
            };
            const paused = async <T>(op: () => Promise<T>): Promise<T> => {
              await pause();
              return op();
            };
            return {
              bucket: inner.bucket,
              get: (k) => paused(() => inner.get(k)),
              head: (k) => paused(() => inner.head(k)),
              put: (k, b, o) => paused(() => inner.put(k, b, o)),
              delete: (k) => paused(() => inner.delete(k)),
              list: (p, o) => paused(() => inner.list(p, o)),
            };
          };
          const limits = { minimax: { concurrency, interactive, interactivePerSecond: 0 } };
          let live = 0;
          let background = 0;
          let worst = 0;
          let worstBackground = 0;
          const granted: Array<Lease & { holder: string }> = [];
          let clock = 5_000_000;
          await Promise.all(
            calls.map(async (c, i) => {
              const budget = new AccountBudget({
                bucket: slowed(c.delays),
                root: "jobs/budget/",
                limits,
                now: () => clock,
              });
              const got = await budget.tryTake(
                req({ holder: `h${i}`, tenant: c.tenant, cls: c.cls, weight: c.weight }),
              );
              if (!isLease(got)) return;
              live += c.weight;
              if (c.cls === "background") background += c.weight;
              worst = Math.max(worst, live);
              worstBackground = Math.max(worstBackground, background);
              granted.push(Object.assign(got, { holder: `h${i}` }));
              // A live stream renews its lease while others ask (a no-op for a batch's), the clock moving on.
              for (let r = 0; r < c.renewals; r++) {
                clock += 1000;
                await got.renew(60_000);
              }
            }),
          );
          expect(worst).toBeLessThanOrEqual(concurrency);
          expect(worstBackground).toBeLessThanOrEqual(concurrency - interactive);
          // Every lease granted still counts, once, however often it was renewed...
          const listed = await new AccountBudget({
            bucket: inner,
            root: "jobs/budget/",
            limits,
            now: () => clock,
          }).snapshot("minimax");
          expect(listed.leases.map((l) => l.holder).sort()).toEqual(granted.map((l) => l.holder).sort());
          // ...and every lease given back leaves nothing behind.
          await Promise.all(granted.map((l) => l.give()));
          expect((await inner.list("jobs/budget/minimax/live/lease/")).objects).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("lets a stream ask again for a moment, then refuses it with 429 and Retry-After, without any provider call", async () => {
    const { budget, clock } = setup({ minimax: { concurrency: 1, interactive: 0, interactivePerSecond: 0 } });
    const held = (await take(budget, req({ holder: "previous-stream", cls: "interactive" })))!;
    let asked = 0;
    const sleep = async (ms: number) => {
      clock.now += ms;
      if (++asked === 3) await held.give(); // the previous stream gives its lease back a moment later
    };
    const lease = await interactiveLease(budget, { provider: "minimax", tenant: "t1" }, sleep);
    expect(lease.key).toBeDefined();
    expect(asked).toBe(3);
    const refused = await interactiveLease(budget, { provider: "minimax", tenant: "t2" }, async (ms) => {
      clock.now += ms;
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({
      statusCode: 429,
      code: "ProviderBudgetSpent",
      details: { api: "minimax", retryAfterSeconds: 1 },
    });
    expect(budget.stats.attempts).toBe(1 + 4 + 1 + STREAM_LEASE_PATIENCE.ms / STREAM_LEASE_PATIENCE.everyMs);
  });
});
