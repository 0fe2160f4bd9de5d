/**
 * A book as a job's input: Markdown as text, or an EPUB's bytes in base64 (a JSON body carries no binary). Read into
 * chapters (lib/books/epub.ts, markdown.ts); a bad book is refused under the field `book`, naming what is wrong.
 */
import * as z from "../zod.js";
import { type Book, bookError } from "./book.js";
import { readEpub } from "./epub.js";
import { readMarkdown } from "./markdown.js";

export const BookInputSchema = z
  .strictObject({
    markdown: z.optional(z.string()),
    epub: z.optional(z.string()),
    /** Whether images are said by their alt text. */
    altText: z.optional(z.boolean()),
  })
  .check(
    z.refine((v) => (v.markdown === undefined) !== (v.epub === undefined), {
      message: "give exactly one of markdown or epub (base64)",
      path: ["markdown"],
    }),
  );
export type BookInput = z.infer<typeof BookInputSchema>;

export function bookFromInput(input: BookInput): Book {
  const opts = { altText: input.altText === true };
  if (input.markdown !== undefined) return readMarkdown(input.markdown, opts);
  const base64 = input.epub!.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw bookError("epub is not base64", "InvalidEpub");
  return readEpub(Buffer.from(base64, "base64"), opts);
}
