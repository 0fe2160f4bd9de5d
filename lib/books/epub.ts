/**
 * An EPUB as a book: its chapters from its own table of contents (EPUB 3's navigation document, or EPUB 2's NCX),
 * each chapter's text from its target to the next chapter's, in the spine's reading order. Refused up front, naming
 * what is wrong: not a ZIP archive, no container or package document, no table of contents, text under DRM, a chapter
 * with nothing to say.
 */
import { unzipSync } from "fflate";
import { tokenizeMarkup } from "../text/markup.js";
import { type Book, type BookCover, bookError, checkChapters } from "./book.js";
import { localName, type TextBlock, xhtmlBlocks } from "./xhtml-text.js";

type Files = Record<string, Uint8Array>;

const utf8 = (bytes: Uint8Array) => new TextDecoder("utf-8").decode(bytes);

/** `href` relative to the document at `base`, as a path inside the archive (no fragment). */
function resolve(base: string, href: string): string {
  const path = decodeURIComponent(href.split("#")[0] ?? "");
  const parts = base.split("/").slice(0, -1);
  for (const piece of path.split("/")) {
    if (piece === "..") parts.pop();
    else if (piece !== "." && piece !== "") parts.push(piece);
  }
  return parts.join("/");
}

function file(files: Files, path: string, what: string): string {
  const bytes = files[path];
  if (!bytes) throw bookError(`has no ${what} (${path})`, "InvalidEpub");
  return utf8(bytes);
}

interface TocEntry {
  readonly title: string;
  readonly path: string;
  readonly fragment?: string;
}

export function readEpub(bytes: Uint8Array, opts: { altText?: boolean } = {}): Book {
  let files: Files;
  try {
    files = unzipSync(bytes);
  } catch {
    throw bookError("is not a ZIP archive (an EPUB is one)", "InvalidEpub");
  }
  const encryption = files["META-INF/encryption.xml"];
  // Font obfuscation (the IDPF's, Adobe's) is allowed; encrypted text is DRM, which only the reader it was sold for opens.
  if (encryption && /URI="[^"]+\.(x?html?|xml|ncx)"/i.test(utf8(encryption)))
    throw bookError("is protected by DRM (its text is encrypted): export it without DRM first", "DrmProtected");
  const container = file(files, "META-INF/container.xml", "META-INF/container.xml");
  const opfPath = /full-path="([^"]+)"/.exec(container)?.[1];
  if (!opfPath) throw bookError("names no package document in META-INF/container.xml", "InvalidEpub");
  const opf = tokenizeMarkup(file(files, opfPath, "package document")).tokens;
  const manifest = new Map<string, { href: string; type: string; properties: string }>();
  const spine: string[] = [];
  let ncxId: string | undefined;
  let title: string | undefined;
  let author: string | undefined;
  let inside: "title" | "creator" | undefined;
  /** EPUB 2 names its cover image's manifest id in `<meta name="cover" content="…">`. */
  let coverId: string | undefined;
  for (const t of opf) {
    if (t.kind === "text") {
      if (inside === "title") title = (title ?? "") + t.value;
      if (inside === "creator") author = (author ?? "") + t.value;
      continue;
    }
    const name = localName(t.name);
    if (t.kind === "close") {
      if (name === "title" || name === "creator") inside = undefined;
      continue;
    }
    if (name === "title" && title === undefined && t.kind === "open") inside = "title";
    if (name === "creator" && author === undefined && t.kind === "open") inside = "creator";
    if (name === "item")
      manifest.set(t.attrs.get("id") ?? "", {
        href: resolve(opfPath, t.attrs.get("href") ?? ""),
        type: t.attrs.get("media-type") ?? "",
        properties: t.attrs.get("properties") ?? "",
      });
    if (name === "meta" && t.attrs.get("name") === "cover") coverId = t.attrs.get("content");
    if (name === "spine") ncxId = t.attrs.get("toc");
    if (name === "itemref" && t.attrs.get("linear") !== "no") spine.push(t.attrs.get("idref") ?? "");
  }
  const order = spine.map((id) => manifest.get(id)?.href).filter((p): p is string => !!p && !!files[p]);
  if (order.length === 0) throw bookError("has an empty reading order (its spine names no document)", "InvalidEpub");
  const nav = [...manifest.values()].find((i) => i.properties.split(/\s+/).includes("nav"));
  const ncx = ncxId ? manifest.get(ncxId) : [...manifest.values()].find((i) => i.type === "application/x-dtbncx+xml");
  const toc = nav ? navEntries(files, nav.href) : ncx ? ncxEntries(files, ncx.href) : [];
  if (toc.length === 0)
    throw bookError("has no table of contents (neither an EPUB 3 navigation document nor an EPUB 2 NCX)", "NoToc");
  const chapters = chaptersFrom(files, order, toc, opts);
  const coverItem =
    [...manifest.values()].find((i) => i.properties.split(/\s+/).includes("cover-image")) ??
    (coverId ? manifest.get(coverId) : undefined);
  const cover = coverItem && files[coverItem.href] ? imageOf(files[coverItem.href]!) : undefined;
  return {
    ...checkChapters({
      ...(title?.trim() ? { title: title.trim() } : {}),
      ...(author?.trim() ? { author: author.trim() } : {}),
      chapters,
    }),
    ...(cover ? { cover } : {}),
  };
}

/** The cover as an M4B can carry it: JPEG or PNG, known by their first bytes (a GIF or SVG cover is left out). */
function imageOf(bytes: Uint8Array): BookCover | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return { bytes, mediaType: "image/jpeg" };
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return { bytes, mediaType: "image/png" };
  return undefined;
}

/** EPUB 3: the `toc` nav's top-level entries. */
function navEntries(files: Files, path: string): TocEntry[] {
  const entries: TocEntry[] = [];
  let inToc = false;
  let depth = 0;
  let link: { href: string; title: string } | undefined;
  for (const t of tokenizeMarkup(file(files, path, "navigation document")).tokens) {
    if (t.kind === "text") {
      if (link) link.title += t.value;
      continue;
    }
    const name = localName(t.name);
    if (name === "nav" && t.kind === "open") inToc = /\btoc\b/.test(t.attrs.get("epub:type") ?? "");
    if (!inToc) continue;
    if (name === "nav" && t.kind === "close") inToc = false;
    if (name === "ol") depth += t.kind === "open" ? 1 : t.kind === "close" ? -1 : 0;
    if (name === "a" && t.kind === "open" && depth === 1) link = { href: t.attrs.get("href") ?? "", title: "" };
    if (name === "a" && t.kind === "close" && link) {
      const [target, fragment] = link.href.split("#");
      entries.push({
        title: link.title.replace(/\s+/g, " ").trim(),
        path: resolve(path, target ?? ""),
        ...(fragment ? { fragment } : {}),
      });
      link = undefined;
    }
  }
  return entries;
}

/** EPUB 2: the NCX's top-level navPoints. */
function ncxEntries(files: Files, path: string): TocEntry[] {
  const entries: TocEntry[] = [];
  let depth = 0;
  let label: string | undefined;
  let title = "";
  for (const t of tokenizeMarkup(file(files, path, "NCX table of contents")).tokens) {
    if (t.kind === "text") {
      if (label !== undefined) label += t.value;
      continue;
    }
    const name = localName(t.name);
    if (name === "navpoint") depth += t.kind === "open" ? 1 : t.kind === "close" ? -1 : 0;
    if (depth !== 1) continue;
    if (name === "text" && t.kind === "open") label = "";
    if (name === "text" && t.kind === "close" && label !== undefined) {
      title = label.replace(/\s+/g, " ").trim();
      label = undefined;
    }
    if (name === "content" && t.kind !== "close") {
      const [target, fragment] = (t.attrs.get("src") ?? "").split("#");
      entries.push({ title, path: resolve(path, target ?? ""), ...(fragment ? { fragment } : {}) });
    }
  }
  return entries;
}

/** Each entry's text: from its place in the reading order to the next entry's. */
function chaptersFrom(files: Files, order: readonly string[], toc: readonly TocEntry[], opts: { altText?: boolean }) {
  const docs = order.map((path) => xhtmlBlocks(utf8(files[path]!), opts));
  const place = (entry: TocEntry, i: number): [number, number] => {
    const doc = order.indexOf(entry.path);
    if (doc === -1)
      throw bookError(
        `table of contents entry ${i + 1} ("${entry.title}") points outside the reading order: ${entry.path}`,
        "InvalidEpub",
      );
    const block = entry.fragment ? docs[doc]!.findIndex((b: TextBlock) => b.ids.includes(entry.fragment!)) : 0;
    return [doc, Math.max(0, block)];
  };
  const starts = toc.map(place);
  return toc.map((entry, i) => {
    const [doc, block] = starts[i]!;
    const [endDoc, endBlock] = starts[i + 1] ?? [docs.length, 0];
    const lines: string[] = [];
    for (let d = doc; d <= Math.min(endDoc, docs.length - 1); d++)
      docs[d]!.forEach((b, k) => {
        if ((d === doc && k < block) || (d === endDoc && k >= endBlock)) return;
        if (b.text) lines.push(b.text);
      });
    return { title: entry.title || `Chapter ${i + 1}`, text: lines.join("\n") };
  });
}
