/**
 * A book as a job's input: Markdown as text, or an EPUB's bytes in base64 (a JSON body carries no binary). Read into
 * chapters (lib/books/epub.ts, markdown.ts); a bad book is refused under the field `book`, naming what is wrong.
 */
import { BOOK_PROFILES } from "../audio/book-encoding.js";
import * as z from "../zod.js";
import { type Book, BookSchema, bookError, checkChapters } from "./book.js";
import { readEpub } from "./epub.js";
import { readMarkdown } from "./markdown.js";

export const BookInputSchema = z
  .strictObject({
    markdown: z.optional(z.string()),
    epub: z.optional(z.string()),
    /** A manifest: the book's chapters, each a title and its text. */
    chapters: z.optional(BookSchema.shape.chapters),
    title: z.optional(z.string().check(z.maxLength(500))),
    author: z.optional(z.string().check(z.maxLength(500))),
    /** Whether images are said by their alt text. */
    altText: z.optional(z.boolean()),
    /** How the audiobook is encoded: `default` keeps the provider's rate; `acx` is ACX's retail requirements. */
    profile: z.optional(z.enum(BOOK_PROFILES)),
    /** Each chapter's integrated loudness, in LUFS (default −20). */
    targetLufs: z.optional(z.number().check(z.gte(-36), z.lte(-10))),
  })
  .check(
    z.refine((v) => [v.markdown, v.epub, v.chapters].filter((x) => x !== undefined).length === 1, {
      message: "give exactly one of markdown, epub (base64) or chapters",
      path: ["markdown"],
    }),
  );
export type BookInput = z.infer<typeof BookInputSchema>;

/** The book `input` gives; a title or author given beside it wins over the book's own. */
export function bookFromInput(input: BookInput): Book {
  const read = readBook(input);
  return {
    ...read,
    ...(input.title ? { title: input.title } : {}),
    ...(input.author ? { author: input.author } : {}),
  };
}

function readBook(input: BookInput): Book {
  const opts = { altText: input.altText === true };
  if (input.chapters) return checkChapters({ chapters: input.chapters });
  if (input.markdown !== undefined) return readMarkdown(input.markdown, opts);
  const base64 = input.epub!.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw bookError("epub is not base64", "InvalidEpub");
  return readEpub(Buffer.from(base64, "base64"), opts);
}
