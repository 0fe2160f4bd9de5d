/** Books kept in the bucket: an upload or a batch item's input that is Markdown or an EPUB. */
import type { Book } from "../books/book.js";
import { readEpub } from "../books/epub.js";
import { readMarkdown } from "../books/markdown.js";
import { InputError } from "../errors.js";
import type { Bucket } from "../storage/bucket.js";
import { readInputText } from "./intake.js";

/** An EPUB carries images and fonts besides its text: a larger object than a text upload may be. */
export const MAX_BOOK_BYTES = 64 * 1024 * 1024;

/**
 * A book stored in the bucket (an upload, a batch item's input) read into its chapters: `.md` as UTF-8 text, `.epub`
 * as bytes; undefined for text and SSML. `field` names it in a refusal.
 */
export async function bookOfObject(storage: Bucket, key: string, field: string): Promise<Book | undefined> {
  if (key.endsWith(".md")) return readMarkdown((await readInputText(storage, key, field)).text);
  if (!key.endsWith(".epub")) return undefined;
  const size = (await storage.head(key))?.size ?? 0;
  if (size > MAX_BOOK_BYTES)
    throw new InputError(field, `is ${size} bytes; an EPUB may be at most ${MAX_BOOK_BYTES} bytes`, {
      limit: MAX_BOOK_BYTES,
      actual: size,
      statusCode: 413,
    });
  const bytes = await storage.get(key);
  if (!bytes) throw new InputError(field, `${key} was not found`);
  return readEpub(bytes);
}
