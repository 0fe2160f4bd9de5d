/**
 * Whether adding work keeps a key within its caps: the first cap it would pass, named with its limit and what is
 * left, as a 429 (characters) or 402 (money) refusal.
 */

import { type PriceTable, priceOf } from "../billing/prices.js";
import { AppError } from "../errors.js";
import type { Caps } from "./caps.js";
import type { Spent } from "./usage.js";

export interface Adding {
  readonly provider: string;
  readonly characters: number;
}

const money = (table: PriceTable | undefined, by: ReadonlyMap<string, number>, adding?: Adding): number => {
  let total = 0;
  const all = new Map(by);
  if (adding) all.set(adding.provider, (all.get(adding.provider) ?? 0) + adding.characters);
  for (const [provider, characters] of all) total += priceOf(table, provider, characters)?.amount ?? 0;
  return Math.round(total * 10_000) / 10_000;
};

/** The refusal for adding `adding` to what `spent` says, or undefined within every cap. */
export function capRefusal(
  caps: Caps | undefined,
  spent: Spent,
  adding: Adding,
  prices: PriceTable | undefined,
): AppError | undefined {
  if (!caps) return undefined;
  const checks: Array<{ cap: keyof Caps; used: number; after: number; unit: string; status: 402 | 429 }> = [
    {
      cap: "charactersPerDay",
      used: spent.charactersToday,
      after: spent.charactersToday + adding.characters,
      unit: "characters",
      status: 429,
    },
    {
      cap: "charactersPerMonth",
      used: spent.charactersThisMonth,
      after: spent.charactersThisMonth + adding.characters,
      unit: "characters",
      status: 429,
    },
  ];
  if (prices) {
    const currency = prices.currency;
    checks.push(
      {
        cap: "moneyPerDay",
        used: money(prices, spent.byProviderToday),
        after: money(prices, spent.byProviderToday, adding),
        unit: currency,
        status: 402,
      },
      {
        cap: "moneyPerMonth",
        used: money(prices, spent.byProviderThisMonth),
        after: money(prices, spent.byProviderThisMonth, adding),
        unit: currency,
        status: 402,
      },
    );
  }
  for (const c of checks) {
    const limit = caps[c.cap];
    if (limit === undefined || c.after <= limit) continue;
    const left = Math.max(0, Math.round((limit - c.used) * 10_000) / 10_000);
    return new AppError(
      `this key's ${c.cap} is ${limit} ${c.unit}; ${left} ${c.unit} are left and this needs ${Math.round((c.after - c.used) * 10_000) / 10_000}`,
      { statusCode: c.status, code: "CapExceeded", details: { cap: c.cap, limit, left } },
    );
  }
  return undefined;
}
