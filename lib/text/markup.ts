/**
 * A small, position-keeping tokenizer for the XML subset SSML uses (elements, attributes, text, entities).
 * It never throws: problems come back as issues with their offsets, so validators can report all of them.
 */
import { decodeEntity } from "./xml.js";

export interface TextToken {
  readonly kind: "text";
  readonly start: number;
  readonly end: number;
  /** The text with entities decoded. */
  readonly value: string;
}

export interface TagToken {
  readonly kind: "open" | "close" | "empty";
  readonly start: number;
  readonly end: number;
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
}

export type MarkupToken = TextToken | TagToken;

export interface MarkupIssue {
  readonly offset: number;
  readonly message: string;
}

const NAME = /[A-Za-z_][\w.:-]*/y;
const ATTR = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("[^"]*"|'[^']*')/y;

/** Splits markup into tags and text. Comments, processing instructions and CDATA are reported, not interpreted. */
export function tokenizeMarkup(source: string): { tokens: MarkupToken[]; issues: MarkupIssue[] } {
  const tokens: MarkupToken[] = [];
  const issues: MarkupIssue[] = [];
  let i = 0;
  while (i < source.length) {
    const lt = source.indexOf("<", i);
    const textEnd = lt === -1 ? source.length : lt;
    if (textEnd > i) {
      tokens.push({ kind: "text", start: i, end: textEnd, value: decodeText(source, i, textEnd, issues) });
      i = textEnd;
      continue;
    }
    const tag = readTag(source, i, issues);
    if (!tag) {
      // Unparseable '<': report it and treat the rest of the line as text so later errors still surface.
      const stop = source.indexOf(">", i + 1);
      i = stop === -1 ? source.length : stop + 1;
      continue;
    }
    tokens.push(tag);
    i = tag.end;
  }
  return { tokens, issues };
}

function decodeText(source: string, start: number, end: number, issues: MarkupIssue[]): string {
  // Work on the segment alone: a search in the whole source would scan past `end` to the document's end for every
  // segment without an '&', which is quadratic in a document of many small segments.
  const segment = source.slice(start, end);
  if (!segment.includes("&")) return segment;
  let out = "";
  let i = 0;
  while (i < segment.length) {
    const amp = segment.indexOf("&", i);
    if (amp === -1) {
      out += segment.slice(i);
      break;
    }
    out += segment.slice(i, amp);
    // An entity is at most 10 characters: look no further, so a run of bare '&' stays linear too.
    const semiAt = segment.slice(amp + 1, amp + 11).indexOf(";");
    const semi = semiAt === -1 ? -1 : amp + 1 + semiAt;
    const decoded = semi !== -1 ? decodeEntity(segment.slice(amp + 1, semi)) : undefined;
    if (decoded === undefined) {
      issues.push({ offset: start + amp, message: "unescaped '&': write &amp;" });
      out += "&";
      i = amp + 1;
    } else {
      out += decoded;
      i = semi + 1;
    }
  }
  return out;
}

function readTag(source: string, start: number, issues: MarkupIssue[]): TagToken | undefined {
  let i = start + 1;
  const next = source[i];
  if (next === "!" || next === "?") {
    issues.push({
      offset: start,
      message:
        next === "!"
          ? "comments, CDATA and DOCTYPE are not allowed in SSML"
          : "processing instructions are not allowed in SSML",
    });
    return undefined;
  }
  const closing = next === "/";
  if (closing) i++;
  NAME.lastIndex = i;
  const name = NAME.exec(source)?.[0];
  if (!name) {
    issues.push({ offset: start, message: "'<' does not start a tag: write &lt; for a literal '<'" });
    return undefined;
  }
  i += name.length;
  const attrs = new Map<string, string>();
  for (;;) {
    ATTR.lastIndex = i;
    const m = ATTR.exec(source);
    if (!m) break;
    const attrName = m[1]!;
    const quoted = m[2]!;
    const quoteAt = m.index + m[0].length - quoted.length;
    if (attrs.has(attrName)) issues.push({ offset: i, message: `<${name}> has the attribute '${attrName}' twice` });
    attrs.set(attrName, decodeText(source, quoteAt + 1, quoteAt + quoted.length - 1, issues));
    i = ATTR.lastIndex;
  }
  while (source[i] === " " || source[i] === "\t" || source[i] === "\n" || source[i] === "\r") i++;
  const selfClosing = source[i] === "/" && source[i + 1] === ">";
  if (!selfClosing && source[i] !== ">") {
    issues.push({
      offset: i,
      message: `malformed <${closing ? "/" : ""}${name}> tag: expected '>' or name="value" attributes`,
    });
    return undefined;
  }
  const end = i + (selfClosing ? 2 : 1);
  if (closing && (selfClosing || attrs.size > 0))
    issues.push({ offset: start, message: `closing tag </${name}> cannot have attributes or '/>'` });
  return { kind: closing ? "close" : selfClosing ? "empty" : "open", start, end, name, attrs };
}

/** 1-based line and column of an offset, for messages a person can act on. */
export function lineColumn(source: string, offset: number): { line: number; column: number } {
  return lineColumns(source, [offset])[0]!;
}

/**
 * Line and column of many offsets in one pass over the source: linear in the source plus the offsets (sorted here),
 * where a rescan per offset would be quadratic for a document with thousands of problems.
 */
export function lineColumns(source: string, offsets: readonly number[]): Array<{ line: number; column: number }> {
  const order = offsets.map((offset, index) => ({ offset, index })).sort((a, b) => a.offset - b.offset);
  const out = new Array<{ line: number; column: number }>(offsets.length);
  let line = 1;
  let lineStart = 0;
  let i = 0;
  for (const { offset, index } of order) {
    for (; i < offset && i < source.length; i++) {
      if (source.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    out[index] = { line, column: offset - lineStart + 1 };
  }
  return out;
}

/** True when the text is meant as SSML: it starts, after white space, with a <speak> element. */
export function looksLikeSsml(text: string): boolean {
  return /^\s*<speak[\s>/]/.test(text);
}
