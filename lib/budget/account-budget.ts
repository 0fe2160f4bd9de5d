/**
 * One provider budget for the whole account, shared by every function instance through OSS: a call that starts
 * billable work takes a lease first, and no more leases are live at once than the API's concurrency, nor more calls
 * started in a clock second than its rate. Streams go first (a reserved share only they may take; past the whole
 * budget they are refused at once, to answer 429); batches and jobs share the rest max-min fairly by tenant, then by
 * batch or job within a tenant, and wait in order (oldest first within a batch or job).
 *
 * How a lease is safe without a lock: the caller writes its lease, then lists every lease. It keeps its lease only
 * when the listing, which includes it, is within the budget; otherwise it deletes it and waits. Of any set of leases
 * live together, the last one written saw all the others in its listing (OSS lists what is written, strongly
 * consistent), so the set is within the budget. Two callers that see each other may both back off (they retry with
 * jitter); neither can overshoot.
 *
 * Leases lapse (`expiresAt` is in the key): a holder that dies stops counting when its lease lapses, and `reclaim`
 * (reconcile) deletes lapsed leases, waiters and old rate tickets.
 */
import type { Bucket } from "../storage/bucket.js";
import { keysUnder } from "../storage/bucket.js";
import { BUDGET_API_SAYS, type BudgetApi } from "./apis.js";
import { fairShares, withinShare } from "./fair-share.js";
import { BudgetKeys, type LeaseClass, type LeaseKey, type WaiterKey } from "./lease-keys.js";
import type { ApiBudget, ProviderBudget } from "./schema.js";

export interface LeaseRequest {
  readonly api: BudgetApi;
  /** Unique per call and stable across its retries (a job's attempt, a stream's request id). */
  readonly holder: string;
  /** The owner digest of the API key the work is for. */
  readonly tenant: string;
  /** The batch or job it belongs to: fair shares within a tenant are by group. */
  readonly group: string;
  readonly cls: LeaseClass;
  /** How long the work may hold the lease before it lapses (the call's own time limit). */
  readonly ttlMs: number;
  /** Provider tasks it runs at once (1 unless a stream looks ahead). */
  readonly weight?: number;
}

/** A held lease; `give()` ends it (once, however often it is called). */
export interface Lease {
  readonly api: BudgetApi;
  /** Undefined when the API is not budgeted: nothing was written. */
  readonly key: string | undefined;
  give(): Promise<void>;
  /**
   * A stream's lease (interactive) lapses `ttlMs` from now instead: a live stream outlasting its first term renews it
   * every half term, so a holder that dies stops counting within one term. A no-op for any other lease.
   */
  renew(ttlMs: number): Promise<void>;
}

/** Why a lease was not granted now, and when asking again may succeed. */
export interface Refusal {
  readonly refused: "concurrency" | "rate" | "share";
  readonly retryAfterMs: number;
  readonly message: string;
}

export interface AccountBudgetOptions {
  readonly bucket: Bucket;
  /** Where its objects live: under the jobs prefix, which the functions' role may already use (`jobs/budget/`). */
  readonly root: string;
  readonly limits: ProviderBudget;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /**
   * A call started this close to the end of a clock second waits for the next one: on its way to the provider it may
   * cross into the next second, which the provider counts it in (20 ms by default).
   */
  readonly secondMarginMs?: number;
  /** How long a waiter's marker counts without being renewed (its waiting caller asks again well within it). */
  readonly waiterTtlMs?: number;
}

/** The lease of an API without a budget: nothing written, nothing to give back or renew. */
export const NO_LEASE = (api: BudgetApi): Lease => ({
  api,
  key: undefined,
  give: async () => undefined,
  renew: async () => undefined,
});

/**
 * Callers of this process waiting for a lease, by budget and API, oldest first: a lease given back here wakes the head
 * of each line to ask at once, not at its next poll. A hint only (the listing still decides); waiters elsewhere poll.
 */
const SLEEPERS = new Map<string, Sleeper[]>();
interface Sleeper {
  readonly since: number;
  /** Its tenant and group: a lease given back wakes the oldest of each, as fair shares may give it to any. */
  readonly line: string;
  readonly wake: () => void;
}

export class AccountBudget {
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  /** Operations made, for tests and the bench to count. */
  readonly stats = { attempts: 0, granted: 0, refused: 0 };
  readonly #keys: BudgetKeys;

  constructor(private readonly opts: AccountBudgetOptions) {
    this.#keys = new BudgetKeys(opts.root);
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#random = opts.random ?? Math.random;
  }

  /** The API's budget, or undefined when it has none. */
  limitsOf(api: BudgetApi): ApiBudget | undefined {
    return this.opts.limits[api];
  }

  /**
   * One attempt: a lease, or why not now. `look` (the default) first looks without writing; a waiter just woken by a
   * lease given back skips the look, as a task is likely free.
   */
  async tryTake(req: LeaseRequest, since?: number, look = true): Promise<Lease | Refusal> {
    const limits = this.opts.limits[req.api];
    if (!limits) return NO_LEASE(req.api);
    this.stats.attempts++;
    const now = this.#now();
    const { bucket } = this.opts;
    let key: string | undefined;
    if (limits.concurrency !== undefined) {
      const lease: LeaseKey = {
        tenant: req.tenant,
        group: req.group,
        holder: req.holder,
        cls: req.cls,
        weight: req.weight ?? 1,
        expiresAt: now + req.ttlMs,
      };
      key = this.#keys.lease(req.api, lease);
      // A look first, writing nothing: a caller whose turn it is not (most of a long line) costs one listing, not a
      // write, two listings and a delete. Only the check after the write decides.
      // A stream asks without waiting in line: no look first, and no waiters to read (its share is not by tenant).
      const interactive = req.cls === "interactive";
      if (!interactive && look) {
        const early = this.#decide(req, limits, key, since ?? now, await this.snapshot(req.api));
        if (early) return this.#refused(early);
      }
      await bucket.put(key, "");
      const refusal = this.#decide(
        req,
        limits,
        key,
        since ?? now,
        await this.snapshot(req.api, { waiters: !interactive }),
      );
      if (refusal) {
        await bucket.delete(key);
        return this.#refused(refusal);
      }
    }
    if (limits.perSecond !== undefined) {
      const ticket = await this.#ticket(req, limits);
      if (ticket) {
        if (key) await bucket.delete(key);
        return this.#refused(ticket);
      }
    }
    this.stats.granted++;
    let given = false;
    // A renewal writes the new lease before it deletes the old: in between, listings see two of one holder's stream
    // leases and count them once (`snapshot`). A give waits for a renewal under way, then deletes what is current.
    let renewing: Promise<void> = Promise.resolve();
    let current = key;
    return {
      api: req.api,
      get key() {
        return current;
      },
      give: async () => {
        if (given || !current) return;
        given = true;
        await renewing.catch(() => undefined);
        await bucket.delete(current);
        this.#wakeHeads(req.api, req.weight ?? 1);
      },
      renew: (ttlMs: number) => {
        if (given || !current || req.cls !== "interactive") return Promise.resolve();
        const old = current;
        const renewed = this.#keys.lease(req.api, {
          ...this.#keys.parseLease(req.api, old)!,
          expiresAt: this.#now() + ttlMs,
        });
        // The same term again (a clock that has not moved) is the same key: nothing to write, and nothing to delete.
        if (renewed === old) return renewing;
        renewing = renewing
          .catch(() => undefined)
          .then(async () => {
            if (given) return;
            await bucket.put(renewed, "");
            current = renewed;
            await bucket.delete(old);
          });
        return renewing;
      },
    };
  }

  /**
   * Waits in order for a lease, up to `waitMs`: undefined when none came in that time (the caller hands its work back
   * to FC's queue, which calls it again, keeping its place: its waiter marker stays, renewed while it waits).
   */
  async take(req: LeaseRequest, opts: { waitMs: number }): Promise<Lease | undefined> {
    if (!this.opts.limits[req.api]) return NO_LEASE(req.api);
    const started = this.#now();
    const ttl = this.opts.waiterTtlMs ?? 60_000;
    let marker = await this.#myWaiter(req);
    const since = marker?.since ?? started;
    let woken = false;
    for (;;) {
      const got = await this.tryTake(req, since, !woken);
      if (!("refused" in got)) {
        if (marker) await this.opts.bucket.delete(this.#keys.waiter(req.api, marker));
        return got;
      }
      const now = this.#now();
      if (!marker || marker.expiresAt - now < ttl / 2) {
        const renewed: WaiterKey = {
          tenant: req.tenant,
          group: req.group,
          holder: req.holder,
          since,
          expiresAt: now + ttl,
        };
        await this.opts.bucket.put(this.#keys.waiter(req.api, renewed), "");
        if (marker) await this.opts.bucket.delete(this.#keys.waiter(req.api, marker));
        marker = renewed;
      }
      if (now - started >= opts.waitMs) return undefined;
      // Polls at the pace its place in line sets (50 ms at the head, up to a second), with jitter.
      const pause = got.retryAfterMs * (0.75 + 0.5 * this.#random());
      woken = await this.#nap(req, since, Math.max(1, Math.min(pause, started + opts.waitMs - now)));
    }
  }

  /**
   * Deletes lapsed leases and waiters, and rate tickets older than a minute (reconcile calls it). Returns how many of
   * each it deleted.
   */
  async reclaim(): Promise<{ leases: number; waiters: number; tickets: number }> {
    const now = this.#now();
    const done = { leases: 0, waiters: 0, tickets: 0 };
    for (const api of Object.keys(this.opts.limits) as BudgetApi[]) {
      const leasePrefix = this.#keys.leasePrefix(api);
      for await (const key of keysUnder(this.opts.bucket, this.#keys.livePrefix(api))) {
        const isLease = key.startsWith(leasePrefix);
        const live = isLease ? this.#keys.parseLease(api, key) : this.#keys.parseWaiter(api, key);
        if (live && live.expiresAt > now) continue;
        await this.opts.bucket.delete(key);
        done[isLease ? "leases" : "waiters"]++;
      }
      const oldest = Math.floor(now / 1000) - 60;
      for await (const key of keysUnder(this.opts.bucket, this.#keys.tickPrefix(api))) {
        const second = this.#keys.tickSecond(api, key);
        if (second !== undefined && second >= oldest) break; // keys sort by second: the rest are recent
        await this.opts.bucket.delete(key);
        done.tickets++;
      }
    }
    return done;
  }

  /** Live leases and waiters of an API, from one listing (`waiters: false` drops the waiters). */
  async snapshot(
    api: BudgetApi,
    opts: { waiters?: boolean } = {},
  ): Promise<{ leases: Array<LeaseKey & { key: string }>; waiters: WaiterKey[] }> {
    const now = this.#now();
    const leases: Array<LeaseKey & { key: string }> = [];
    const waiters: WaiterKey[] = [];
    const leasePrefix = this.#keys.leasePrefix(api);
    // A stream's lease being renewed shows twice for a moment (the new one written, the old not yet deleted): a stream's
    // holder is unique to it, so its leases count once, as the one that lapses last.
    const streams = new Map<string, number>();
    for await (const key of keysUnder(this.opts.bucket, this.#keys.livePrefix(api))) {
      if (key.startsWith(leasePrefix)) {
        const l = this.#keys.parseLease(api, key);
        if (!l || l.expiresAt <= now) continue;
        const seen = l.cls === "interactive" ? streams.get(l.holder) : undefined;
        if (seen === undefined) {
          if (l.cls === "interactive") streams.set(l.holder, leases.length);
          leases.push({ ...l, key });
        } else if (l.expiresAt > leases[seen]!.expiresAt) leases[seen] = { ...l, key };
      } else if (opts.waiters !== false) {
        const w = this.#keys.parseWaiter(api, key);
        if (w && w.expiresAt > now) waiters.push(w);
      }
    }
    return { leases, waiters };
  }

  async #myWaiter(req: LeaseRequest): Promise<WaiterKey | undefined> {
    const { waiters } = await this.snapshot(req.api);
    return waiters.find((w) => w.holder === req.holder && w.tenant === req.tenant && w.group === req.group);
  }

  /** Undefined when the lease at `key` (written, or about to be) may be kept, given the listing; else why not. */
  #decide(
    req: LeaseRequest,
    limits: ApiBudget,
    key: string,
    since: number,
    { leases, waiters }: Awaited<ReturnType<AccountBudget["snapshot"]>>,
  ): Omit<Refusal, "message"> | undefined {
    const concurrency = limits.concurrency!;
    // Its own lease counts even if a slow clock made it look lapsed already.
    const all = leases.some((l) => l.key === key)
      ? leases
      : [...leases, { ...this.#keys.parseLease(req.api, key)!, key }];
    const weight = (ls: typeof all) => ls.reduce((n, l) => n + l.weight, 0);
    const background = all.filter((l) => l.cls === "background");
    const capacity = concurrency - limits.interactive;
    if (req.cls === "interactive") {
      // Background leases past their share are being written and checked by callers that will delete them: they are
      // counted up to the share only, so a batch's contenders never crowd a stream out of its reserved tasks. (Safe:
      // the background leases kept are within the share, as the last of them to be written saw.)
      const interactive = weight(all) - weight(background);
      return interactive + Math.min(weight(background), capacity) > concurrency
        ? { refused: "concurrency", retryAfterMs: 250 }
        : undefined;
    }
    // A waiter asking now holds a lease in the listing too: it is counted once, by its lease.
    const holding = new Set(background.map((l) => l.holder));
    const others = waiters.filter((w) => w.holder !== req.holder && !holding.has(w.holder));
    const older = others.filter((w) => w.tenant === req.tenant && w.group === req.group && w.since < since).length;
    // A lease given back here wakes the heads of this process's lines at once; a lease given back by another instance
    // is seen by polling: the head of each line every 50 ms, each place behind it 50 ms later, up to a second.
    const pace = (ahead: number) => Math.min(1000, 50 * (1 + Math.max(0, ahead)));
    if (weight(all) > concurrency || weight(background) > capacity)
      return { refused: "concurrency", retryAfterMs: pace(older) };
    // Fair shares among the tenants (then the groups of the caller's tenant) that hold or wait for a lease.
    const demand = (pick: (x: { tenant: string; group: string }) => string | undefined) => {
      const d = new Map<string, number>();
      for (const l of background) {
        const k = pick(l);
        if (k !== undefined) d.set(k, (d.get(k) ?? 0) + l.weight);
      }
      for (const w of others) {
        const k = pick(w);
        if (k !== undefined) d.set(k, (d.get(k) ?? 0) + 1);
      }
      return d;
    };
    const tenantShares = fairShares(
      capacity,
      demand((x) => x.tenant),
    );
    const heldByTenant = weight(background.filter((l) => l.tenant === req.tenant));
    if (!withinShare(heldByTenant, tenantShares.get(req.tenant))) return { refused: "share", retryAfterMs: 250 };
    const groupShares = fairShares(
      tenantShares.get(req.tenant) ?? 0,
      demand((x) => (x.tenant === req.tenant ? x.group : undefined)),
    );
    const inGroup = background.filter((l) => l.tenant === req.tenant && l.group === req.group);
    const heldByGroup = weight(inGroup);
    if (!withinShare(heldByGroup, groupShares.get(req.group))) return { refused: "share", retryAfterMs: 250 };
    // In order within its group: the places left go to the oldest waiters first.
    const room = Math.ceil((groupShares.get(req.group) ?? 0) - 1e-9) - (heldByGroup - (req.weight ?? 1));
    if (older >= room) return { refused: "share", retryAfterMs: pace(older - room) };
    return undefined;
  }

  /** Takes one of this second's calls (a ticket object, create-if-absent); undefined when taken, else why not. */
  async #ticket(req: LeaseRequest, limits: ApiBudget): Promise<Omit<Refusal, "message"> | undefined> {
    const perSecond = limits.perSecond!;
    const now = this.#now();
    const intoSecond = now % 1000;
    const toNext = 1000 - intoSecond;
    if (toNext <= (this.opts.secondMarginMs ?? 20)) return { refused: "rate", retryAfterMs: toNext };
    const second = Math.floor(now / 1000);
    const usable = req.cls === "interactive" ? perSecond : perSecond - limits.interactivePerSecond;
    const start = Math.floor(this.#random() * usable);
    for (let i = 0; i < usable; i++) {
      const index = (start + i) % usable;
      const put = await this.opts.bucket.put(this.#keys.tick(req.api, second, index), "", { ifAbsent: true });
      if (put.created) return undefined;
    }
    return { refused: "rate", retryAfterMs: toNext };
  }

  #refused(r: Omit<Refusal, "message">): Refusal {
    this.stats.refused++;
    return {
      ...r,
      message: `the account's budget for ${r.refused === "rate" ? "calls a second" : "tasks at once"} is spent for now`,
    };
  }

  #sleepersOf(api: BudgetApi): Sleeper[] {
    const name = `${this.opts.bucket.bucket}/${this.opts.root}${api}`;
    const sleepers = SLEEPERS.get(name) ?? [];
    SLEEPERS.set(name, sleepers);
    return sleepers;
  }

  /** Sleeps `ms`, or less if a lease given back in this process wakes it first: true when it did. */
  #nap(req: LeaseRequest, since: number, ms: number): Promise<boolean> {
    const sleepers = this.#sleepersOf(req.api);
    return new Promise<boolean>((resolve) => {
      const end = (woken: boolean) => {
        const at = sleepers.indexOf(me);
        if (at === -1) return;
        sleepers.splice(at, 1);
        resolve(woken);
      };
      const me: Sleeper = { since, line: `${req.tenant}\n${req.group}`, wake: () => end(true) };
      const at = sleepers.findIndex((s) => s.since > since);
      sleepers.splice(at === -1 ? sleepers.length : at, 0, me);
      void this.#sleep(ms).then(() => end(false));
    });
  }

  /**
   * A lease of weight `n` was given back: the `n` oldest of each line (tenant and group) waiting in this process ask at
   * once. Which line the task is fair to is the listing's to say, so each line's head asks, not only the oldest.
   */
  #wakeHeads(api: BudgetApi, n: number): void {
    const woken = new Map<string, number>();
    for (const sleeper of [...this.#sleepersOf(api)]) {
      const k = woken.get(sleeper.line) ?? 0;
      if (k >= n) continue;
      woken.set(sleeper.line, k + 1);
      sleeper.wake();
    }
  }

  /** What a refusal means for the API, in words a 429 can carry. */
  static says(api: BudgetApi, refusal: Refusal): string {
    return `${BUDGET_API_SAYS[api]}: ${refusal.message}; retry in ${Math.ceil(refusal.retryAfterMs / 1000)} s`;
  }
}
