/**
 * The text a listener should hear from an XHTML document, in reading order: each block element (headings, paragraphs,
 * list items, table cells, quotes) a line of its own, scripts, styles and the head left out, images by their alt text
 * only when asked. Each element id is kept with the block it is in, so a table of contents' `file#id` can start a
 * chapter mid-document.
 */
import { tokenizeMarkup } from "../text/markup.js";

const BLOCKS = new Set([
  "p",
  "div",
  "section",
  "article",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "li",
  "blockquote",
  "pre",
  "td",
  "th",
  "dt",
  "dd",
  "figcaption",
  "tr",
  "br",
  "hr",
]);
const SILENT = new Set(["head", "script", "style", "svg", "math", "rt", "rp"]);

export interface TextBlock {
  readonly text: string;
  /** Ids of the elements that start at or inside this block. */
  readonly ids: readonly string[];
}

/** An element's name without its namespace prefix, lower-cased (`dc:title` → `title`). */
export const localName = (name: string): string => name.slice(name.indexOf(":") + 1).toLowerCase();

export function xhtmlBlocks(source: string, opts: { altText?: boolean } = {}): TextBlock[] {
  const blocks: TextBlock[] = [];
  let text = "";
  let ids: string[] = [];
  let silent = 0;
  const flush = () => {
    const line = text.replace(/\s+/g, " ").trim();
    if (line || ids.length) blocks.push({ text: line, ids });
    text = "";
    ids = [];
  };
  for (const token of tokenizeMarkup(source).tokens) {
    if (token.kind === "text") {
      if (silent === 0) text += token.value;
      continue;
    }
    const name = localName(token.name);
    if (SILENT.has(name)) {
      if (token.kind === "open") silent++;
      else if (token.kind === "close") silent = Math.max(0, silent - 1);
      continue;
    }
    if (silent > 0) continue;
    if (BLOCKS.has(name)) flush();
    const id = token.kind !== "close" ? token.attrs.get("id") : undefined;
    if (id) ids.push(id);
    if (name === "img" && opts.altText) text += ` ${token.attrs.get("alt") ?? ""} `;
  }
  flush();
  return blocks;
}
