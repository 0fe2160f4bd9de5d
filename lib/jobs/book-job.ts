/** A book as a job: its chapters' texts as the job's text, its chapters, and what the audiobook is made with. */
import type { BookProfileName } from "../audio/book-encoding.js";
import { type Book, bookText } from "../books/book.js";
import type { NewJob } from "./job-deps.js";

/** What a book adds to a new job: its text (its chapters' texts in order), its chapters, its tags and profile. */
export function bookJobFields(
  book: Book,
  settings: { readonly profile?: BookProfileName; readonly targetLufs?: number } = {},
): Pick<NewJob, "text" | "chapters" | "book" | "cover"> {
  return {
    ...(book.cover ? { cover: book.cover } : {}),
    text: bookText(book),
    chapters: book.chapters,
    book: {
      ...(book.title ? { title: book.title } : {}),
      ...(book.author ? { author: book.author } : {}),
      profile: settings.profile ?? "default",
      ...(settings.targetLufs !== undefined ? { targetLufs: settings.targetLufs } : {}),
    },
  };
}
