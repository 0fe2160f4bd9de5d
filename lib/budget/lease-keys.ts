/**
 * Where the budget's leases and waiters live in OSS, one object each, everything a listing needs in the key: whose it
 * is (tenant, and the batch or job it is for), its class, its weight and when it lapses. Leases and waiters share one
 * prefix, so one listing of it is the whole picture, with no object read.
 *
 *   <root><api>/live/lease/<tenant>/<group>/<class>-<weight>-<expiresAt>-<holder>
 *   <root><api>/live/wait/<tenant>/<group>/<since>-<expiresAt>-<holder>
 *   <root><api>/tick/<second>/<index>
 *
 * The root is under the jobs prefix (`jobs/budget/`), which the functions' role may already write, delete and list.
 */
import type { BudgetApi } from "./apis.js";

export type LeaseClass = "interactive" | "background";

export interface LeaseName {
  readonly tenant: string;
  readonly group: string;
  readonly holder: string;
}

export interface LeaseKey extends LeaseName {
  readonly cls: LeaseClass;
  /** The tasks it counts for (a stream that looks ahead runs two provider tasks at once). */
  readonly weight: number;
  readonly expiresAt: number;
}

export interface WaiterKey extends LeaseName {
  readonly since: number;
  readonly expiresAt: number;
}

/** A key component: anything but '/' and '-' as itself; those percent-encoded, so the key splits back exactly. */
const part = (s: string): string => encodeURIComponent(s).replace(/-/g, "%2D");
const unpart = (s: string): string => decodeURIComponent(s);
/** Times as 13 digits, so keys sort by time within a group. */
const time = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(13, "0");

export class BudgetKeys {
  /** `root`: where the budget lives, e.g. `jobs/budget/`. */
  constructor(readonly root: string) {}

  /** Leases and waiters: one listing of it sees both. */
  livePrefix(api: BudgetApi): string {
    return `${this.root}${api}/live/`;
  }

  leasePrefix(api: BudgetApi): string {
    return `${this.livePrefix(api)}lease/`;
  }

  waiterPrefix(api: BudgetApi): string {
    return `${this.livePrefix(api)}wait/`;
  }

  tickPrefix(api: BudgetApi): string {
    return `${this.root}${api}/tick/`;
  }

  lease(api: BudgetApi, l: LeaseKey): string {
    return `${this.leasePrefix(api)}${part(l.tenant)}/${part(l.group)}/${l.cls}-${l.weight}-${time(l.expiresAt)}-${part(l.holder)}`;
  }

  parseLease(api: BudgetApi, key: string): LeaseKey | undefined {
    const m = /^([^/]+)\/([^/]+)\/(interactive|background)-(\d+)-(\d{13})-([^/-]+)$/.exec(
      key.slice(this.leasePrefix(api).length),
    );
    if (!m || !key.startsWith(this.leasePrefix(api))) return undefined;
    return {
      tenant: unpart(m[1]!),
      group: unpart(m[2]!),
      cls: m[3] as LeaseClass,
      weight: Number(m[4]),
      expiresAt: Number(m[5]),
      holder: unpart(m[6]!),
    };
  }

  waiter(api: BudgetApi, w: WaiterKey): string {
    return `${this.waiterPrefix(api)}${part(w.tenant)}/${part(w.group)}/${time(w.since)}-${time(w.expiresAt)}-${part(w.holder)}`;
  }

  parseWaiter(api: BudgetApi, key: string): WaiterKey | undefined {
    const m = /^([^/]+)\/([^/]+)\/(\d{13})-(\d{13})-([^/-]+)$/.exec(key.slice(this.waiterPrefix(api).length));
    if (!m || !key.startsWith(this.waiterPrefix(api))) return undefined;
    return {
      tenant: unpart(m[1]!),
      group: unpart(m[2]!),
      since: Number(m[3]),
      expiresAt: Number(m[4]),
      holder: unpart(m[5]!),
    };
  }

  tick(api: BudgetApi, second: number, index: number): string {
    return `${this.tickPrefix(api)}${time(second)}/${index}`;
  }

  tickSecond(api: BudgetApi, key: string): number | undefined {
    const m = /^(\d{13})\//.exec(key.slice(this.tickPrefix(api).length));
    return m ? Number(m[1]) : undefined;
  }
}
