/**
 * What characters cost, as the deployment configures it (`PRICES`, JSON): a currency and a price per 10,000 billed
 * characters for each job provider. Alibaba's prices depend on the account's plan and region, so none is built in:
 * without the table, quotes give characters and time, and caps count characters only.
 *
 * @example {"currency":"CNY","perTenThousandCharacters":{"nls":2,"ice":2,"minimax":3.5}}
 */
import { ProviderNameSchema } from "../provider-registry.js";
import * as z from "../zod.js";

export const PriceTableSchema = z.strictObject({
  currency: z.string().check(z.regex(/^[A-Z]{3}$/, "an ISO 4217 code such as CNY")),
  perTenThousandCharacters: z.partialRecord(ProviderNameSchema, z.number("a price").check(z.gte(0, "at least 0"))),
});
export type PriceTable = z.infer<typeof PriceTableSchema>;

/** The price of `characters` billed by `provider`, rounded to 1/10,000 of the currency; undefined without a price. */
export function priceOf(
  table: PriceTable | undefined,
  provider: string,
  characters: number,
): { amount: number; currency: string } | undefined {
  const per = table?.perTenThousandCharacters[provider as keyof PriceTable["perTenThousandCharacters"]];
  if (per === undefined || !table) return undefined;
  return { amount: Math.round(((characters * per) / 10_000) * 10_000) / 10_000, currency: table.currency };
}
