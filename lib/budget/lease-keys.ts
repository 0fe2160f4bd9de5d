/**
 * Where the budget's leases and waiters live in OSS, one object each, everything a listing needs in the key: whose it
 * is (tenant, and the batch or job it is for), its class, its weight and when it lapses. One listing of a prefix is
 * then the whole picture, with no object read.
 *
 *   budget/<api>/lease/<tenant>/<group>/<class>-<weight>-<expiresAt>-<holder>
 *   budget/<api>/wait/<tenant>/<group>/<since>-<expiresAt>-<holder>
 *   budget/<api>/tick/<second>/<index>
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

export const BUDGET_PREFIX = "budget/";
export const leasePrefix = (api: BudgetApi): string => `${BUDGET_PREFIX}${api}/lease/`;
export const waiterPrefix = (api: BudgetApi): string => `${BUDGET_PREFIX}${api}/wait/`;
export const tickPrefix = (api: BudgetApi): string => `${BUDGET_PREFIX}${api}/tick/`;

/** A key component: anything but '/' and '-' as itself; those percent-encoded, so the key splits back exactly. */
const part = (s: string): string => encodeURIComponent(s).replace(/-/g, "%2D");
const unpart = (s: string): string => decodeURIComponent(s);
/** Times as 13 digits, so keys sort by time within a group. */
const time = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(13, "0");

export function leaseKey(api: BudgetApi, l: LeaseKey): string {
  return `${leasePrefix(api)}${part(l.tenant)}/${part(l.group)}/${l.cls}-${l.weight}-${time(l.expiresAt)}-${part(l.holder)}`;
}

export function parseLeaseKey(api: BudgetApi, key: string): LeaseKey | undefined {
  const m = /^([^/]+)\/([^/]+)\/(interactive|background)-(\d+)-(\d{13})-([^/-]+)$/.exec(
    key.slice(leasePrefix(api).length),
  );
  if (!m || !key.startsWith(leasePrefix(api))) return undefined;
  return {
    tenant: unpart(m[1]!),
    group: unpart(m[2]!),
    cls: m[3] as LeaseClass,
    weight: Number(m[4]),
    expiresAt: Number(m[5]),
    holder: unpart(m[6]!),
  };
}

export function waiterKey(api: BudgetApi, w: WaiterKey): string {
  return `${waiterPrefix(api)}${part(w.tenant)}/${part(w.group)}/${time(w.since)}-${time(w.expiresAt)}-${part(w.holder)}`;
}

export function parseWaiterKey(api: BudgetApi, key: string): WaiterKey | undefined {
  const m = /^([^/]+)\/([^/]+)\/(\d{13})-(\d{13})-([^/-]+)$/.exec(key.slice(waiterPrefix(api).length));
  if (!m || !key.startsWith(waiterPrefix(api))) return undefined;
  return {
    tenant: unpart(m[1]!),
    group: unpart(m[2]!),
    since: Number(m[3]),
    expiresAt: Number(m[4]),
    holder: unpart(m[5]!),
  };
}

export const tickKey = (api: BudgetApi, second: number, index: number): string =>
  `${tickPrefix(api)}${time(second)}/${index}`;

export function tickSecond(api: BudgetApi, key: string): number | undefined {
  const m = /^(\d{13})\//.exec(key.slice(tickPrefix(api).length));
  return m ? Number(m[1]) : undefined;
}
