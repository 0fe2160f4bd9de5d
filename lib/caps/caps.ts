/**
 * Spending caps per API key (`TTS_API_KEY_CAPS`, JSON, a secret like the keys it names): characters and money, per UTC
 * day and per UTC month. `"*"` applies to every key that has no entry of its own. Money counts only with a price
 * table (PRICES).
 *
 * @example {"*":{"charactersPerDay":200000},"key-of-team-a":{"charactersPerMonth":5000000,"moneyPerMonth":1500}}
 */
import { ownerOfKey } from "../auth.js";
import * as z from "../zod.js";

const limit = (what: string) => z.optional(z.number(what).check(z.gt(0, "more than 0")));

export const CapsSchema = z.strictObject({
  charactersPerDay: limit("a number of characters"),
  charactersPerMonth: limit("a number of characters"),
  moneyPerDay: limit("an amount in PRICES' currency"),
  moneyPerMonth: limit("an amount in PRICES' currency"),
});
export type Caps = z.infer<typeof CapsSchema>;

export const KeyCapsSchema = z.record(z.string().check(z.minLength(1)), CapsSchema);
export type KeyCaps = z.infer<typeof KeyCapsSchema>;

/** Each owner's caps (keys are turned into their owner digests at once, so no key is kept). */
export function capsByOwner(config: KeyCaps): (owner: string) => Caps | undefined {
  const byOwner = new Map<string, Caps>();
  for (const [key, caps] of Object.entries(config)) if (key !== "*") byOwner.set(ownerOfKey(key), caps);
  const every = config["*"];
  return (owner) => byOwner.get(owner) ?? every;
}
