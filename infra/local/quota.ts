/**
 * An emulated provider quota: at most `concurrency` tasks at once and `perSecond` calls started in one clock second,
 * as an Alibaba gateway counts them ("检查是否超过了并发连接数或者每秒钟请求数": concurrent connections or requests a
 * second, seed 003's 40000005). The emulator that owns it answers a refusal in its own service's words (NLS 40000005,
 * DashScope 429 Throttling.RateQuota, POP Throttling.User), so a client that overruns the account sees what it would
 * see in the cloud.
 *
 * The second is the wall clock's (a fixed window): the budget paces by the same windows (lib/budget/rate-tickets.ts).
 */
import type { BudgetApi } from "../../lib/budget/apis.js";

export interface QuotaLimits {
  /** Tasks running at once; absent means no limit. */
  readonly concurrency?: number;
  /** Calls started per clock second; absent means no limit. */
  readonly perSecond?: number;
}

export interface QuotaStats {
  admitted: number;
  refused: number;
  /** Tasks running now, and the most at once since the last reset. */
  running: number;
  peak: number;
  /** Milliseconds × tasks held (the integral of `running` over time): throughput against `concurrency`. */
  heldMs: number;
}

/** A task admitted under the quota; `end()` gives its place back (once, however often it is called). */
export interface QuotaTicket {
  end(): void;
}

export class QuotaGate {
  readonly stats: QuotaStats = { admitted: 0, refused: 0, running: 0, peak: 0, heldMs: 0 };
  #second = -1;
  #startedThisSecond = 0;
  #since: number;

  constructor(
    public limits: QuotaLimits = {},
    private readonly now: () => number = Date.now,
  ) {
    this.#since = now();
  }

  /** Starts a task when the quota has room for it; undefined when the service would refuse it. */
  admit(): QuotaTicket | undefined {
    const now = this.now();
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#startedThisSecond = 0;
    }
    const { concurrency, perSecond } = this.limits;
    if (
      (concurrency !== undefined && this.stats.running >= concurrency) ||
      (perSecond !== undefined && this.#startedThisSecond >= perSecond)
    ) {
      this.stats.refused++;
      return undefined;
    }
    this.#account(now);
    this.#startedThisSecond++;
    this.stats.admitted++;
    this.stats.running++;
    this.stats.peak = Math.max(this.stats.peak, this.stats.running);
    let ended = false;
    return {
      end: () => {
        if (ended) return;
        ended = true;
        this.#account(this.now());
        this.stats.running--;
      },
    };
  }

  /** Zeroes the counters (tasks running stay running). */
  reset(): void {
    this.#account(this.now());
    Object.assign(this.stats, { admitted: 0, refused: 0, peak: this.stats.running, heldMs: 0 });
  }

  #account(now: number): void {
    this.stats.heldMs += this.stats.running * (now - this.#since);
    this.#since = now;
  }
}

/** One gate per API, as the local cloud's emulators share them. */
export type QuotaGates = Record<BudgetApi, QuotaGate>;
