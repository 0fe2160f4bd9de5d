/**
 * A book as narration takes it in: its title and author, and its chapters in reading order, each a title and the text
 * to speak (no markup). EPUB, Markdown and a manifest of chapters all come to this (lib/books/epub.ts, markdown.ts).
 */

import { InputError } from "../errors.js";
import * as z from "../zod.js";

export const ChapterSchema = z.object({
  title: z.string().check(z.minLength(1)),
  text: z.string(),
});

export const BookSchema = z.object({
  title: z.optional(z.string()),
  author: z.optional(z.string()),
  chapters: z.array(ChapterSchema).check(z.minLength(1)),
});

export type Chapter = z.infer<typeof ChapterSchema>;
/** A book's cover image, as an M4B can carry it (JPEG or PNG). */
export interface BookCover {
  readonly bytes: Uint8Array;
  readonly mediaType: "image/jpeg" | "image/png";
}
export type Book = z.infer<typeof BookSchema> & { readonly cover?: BookCover };

/** What a book says, in order: its chapters' texts, a line apart (a job's text; each chapter also starts a part). */
export function bookText(book: Book): string {
  return book.chapters.map((c) => c.text).join("\n");
}

/** A book refused before anything is made: what is wrong with it, under the field `book`. */
export function bookError(problem: string, code = "InvalidBook"): InputError {
  return new InputError("book", problem, { statusCode: 400, code });
}

/** Refuses a book without chapters or with a chapter that says nothing beyond its title, naming the chapter. */
export function checkChapters(book: Book): Book {
  if (book.chapters.length === 0) throw bookError("has no chapters");
  book.chapters.forEach((chapter, i) => {
    if (!/[\p{L}\p{N}]/u.test(chapter.text.replace(chapter.title, "")))
      throw bookError(`chapter ${i + 1} ("${chapter.title}") has no text to speak`, "EmptyChapter");
  });
  return book;
}
