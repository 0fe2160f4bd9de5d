/**
 * Batch items by reference: a JSON Lines object under the input prefix, one item a line (blank lines skipped). An
 * async invocation carries at most 128 KB and PutEvents at most 256 KB, so a batch of thousands of items (or of long
 * inline texts) travels as an object's key, and `submit` reads the object. An uploaded batch file starts with one more
 * line, the batch's header (`{"batch":{"outputPrefix":…}}`). Items are checked line by line, so an error names its line.
 */
import { InputError } from "../errors.js";
import { checkInputKey } from "../jobs/intake.js";
import type { Bucket } from "../storage/bucket.js";
import { decodeUtf8 } from "../text/utf8.js";
import { parseInput } from "../validation.js";
import type * as z from "../zod.js";
import { BatchFileHeaderSchema, type BatchItem, BatchItemSchema, MAX_BATCH_ITEMS } from "./schema.js";

/** The largest items object read: 10,000 items of a few KB each, with room; larger is refused up front. */
export const MAX_ITEMS_FILE_BYTES = 64 * 1024 * 1024;

export type BatchFileHeader = z.infer<typeof BatchFileHeaderSchema>["batch"];

/**
 * Reads and checks the items of `key`; with `header`, the first line is the batch's header. `field` names the key's
 * place in the request, so every error says where it came from.
 */
export async function readItemsFile(
  storage: Bucket,
  key: string,
  opts: { inputPrefix: string; field: string; header?: boolean },
): Promise<{ header?: BatchFileHeader; items: BatchItem[] }> {
  checkInputKey(key, opts.inputPrefix, opts.field);
  const info = await storage.head(key);
  if (!info) throw new InputError(opts.field, `object ${key} does not exist`, { statusCode: 404, code: "NotFound" });
  if (info.size > MAX_ITEMS_FILE_BYTES)
    throw new InputError(opts.field, `is ${info.size} bytes; an items file may be at most ${MAX_ITEMS_FILE_BYTES}`, {
      limit: MAX_ITEMS_FILE_BYTES,
      actual: info.size,
      statusCode: 413,
      code: "ItemsFileTooLarge",
    });
  const text = decodeUtf8((await storage.get(key)) ?? Buffer.alloc(0), opts.field);
  const lines = text.split("\n");
  let header: BatchFileHeader | undefined;
  const items: BatchItem[] = [];
  const ids = new Set<string>();
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === "") continue;
    const where = `${key} line ${n + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InputError(where, `is not JSON (${(error as Error).message})`, { code: "InvalidItemsFile" });
    }
    if (opts.header && header === undefined) {
      header = parseInput(BatchFileHeaderSchema, value, where).batch;
      continue;
    }
    const item = parseInput(BatchItemSchema, value, where);
    if (ids.has(item.id)) throw new InputError(`${where}.id`, `repeats the item id ${item.id}; ids must be unique`);
    ids.add(item.id);
    items.push(item);
    if (items.length > MAX_BATCH_ITEMS)
      throw new InputError(opts.field, `holds more than ${MAX_BATCH_ITEMS} items, the most one batch takes`, {
        limit: MAX_BATCH_ITEMS,
        code: "TooManyItems",
      });
  }
  if (opts.header && header === undefined)
    throw new InputError(opts.field, 'needs a first line {"batch":{"outputPrefix":…}} before its items', {
      code: "InvalidItemsFile",
    });
  if (items.length === 0) throw new InputError(opts.field, "holds no items", { code: "InvalidItemsFile" });
  return { ...(header ? { header } : {}), items };
}

/** A batch request's items: those it carries, else those of the JSON Lines object `itemsFrom.key` names. */
export async function batchItemsOf(
  storage: Bucket,
  req: { readonly items?: readonly BatchItem[]; readonly itemsFrom?: { readonly key: string } },
  opts: { inputPrefix: string; field: string },
): Promise<readonly BatchItem[]> {
  return req.items ?? (await readItemsFile(storage, req.itemsFrom!.key, opts)).items;
}
