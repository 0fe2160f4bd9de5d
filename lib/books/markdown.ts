/**
 * A Markdown book: its chapters from its headings. The level that cuts it is the highest one used more than once
 * (`#` when the book has several `#` chapters; `##` under a single `#` title, which then titles the book). Text
 * before the first chapter heading is a chapter of its own ("Front matter") when it says anything. Markdown's syntax is
 * not spoken: emphasis, code marks and link targets go, a link keeps its words, an image its alt text when asked.
 */
import { type Book, bookError, checkChapters } from "./book.js";

const HEADING = /^(#{1,6})[ \t]+(.+?)[ \t#]*$/;

/** A Markdown line as it is said. */
export function spokenMarkdown(line: string, opts: { altText?: boolean } = {}): string {
  return line
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, (_, alt: string) => (opts.altText ? alt : ""))
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/(\*\*|__|\*|_|~~|`)/g, "")
    .replace(/^\s*(?:[-*+]|\d+[.)]|>)\s+/, "")
    .trim();
}

export function readMarkdown(source: string, opts: { altText?: boolean } = {}): Book {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let fenced = false;
  const headings: Array<{ line: number; level: number; title: string }> = [];
  lines.forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : HEADING.exec(line);
    if (m) headings.push({ line: i, level: m[1]!.length, title: spokenMarkdown(m[2]!) });
  });
  if (headings.length === 0) throw bookError("has no headings to make chapters of (# Chapter title)", "NoChapters");
  const counts = new Map<number, number>();
  for (const h of headings) counts.set(h.level, (counts.get(h.level) ?? 0) + 1);
  const levels = [...counts.keys()].sort((a, b) => a - b);
  const level = levels.find((l) => counts.get(l)! > 1) ?? levels[0]!;
  const bookTitle =
    levels[0]! < level && counts.get(levels[0]!) === 1 ? headings.find((h) => h.level === levels[0])! : undefined;
  const cuts = headings.filter((h) => h.level === level);
  const said = (from: number, to: number) => {
    const out: string[] = [];
    let inFence = false;
    for (let i = from; i < to; i++) {
      const line = lines[i]!;
      if (/^\s*(```|~~~)/.test(line)) {
        inFence = !inFence;
        continue;
      }
      if (inFence || (bookTitle && i === bookTitle.line)) continue;
      const heading = HEADING.exec(line);
      const text = heading ? spokenMarkdown(heading[2]!) : spokenMarkdown(line, opts);
      if (text) out.push(text);
    }
    return out.join("\n");
  };
  const chapters = cuts.map((h, i) => ({ title: h.title, text: said(h.line, cuts[i + 1]?.line ?? lines.length) }));
  const front = said(0, cuts[0]!.line);
  if (/[\p{L}\p{N}]/u.test(front)) chapters.unshift({ title: "Front matter", text: front });
  return checkChapters({ ...(bookTitle ? { title: bookTitle.title } : {}), chapters });
}
