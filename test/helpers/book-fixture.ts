/**
 * Books made in the test: public-domain-style prose from a seeded generator (the same words every run), packed as an
 * EPUB 3 with a navigation document, the book's title and author, and optionally a cover image.
 */
import { strToU8, zipSync } from "fflate";

const WORDS = (
  "the old house stood at the end of a long road where the river bent toward the hills and in the evening " +
  "light the windows shone like gold while the wind moved softly through the orchard and the children ran " +
  "along the garden wall calling to one another until their mother came to the door and said that supper " +
  "was ready and the lamps were lit one by one in the quiet village below"
).split(" ");

/** A small deterministic generator (mulberry32): numbers in [0, 1). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Paragraphs of sentences of 8–16 words, about `chars` characters in all. */
export function prose(seed: number, chars: number): string[] {
  const next = random(seed);
  const paragraphs: string[] = [];
  let total = 0;
  while (total < chars) {
    const sentences: string[] = [];
    for (let s = 0; s < 4 && total < chars; s++) {
      const n = 8 + Math.floor(next() * 9);
      const words = Array.from({ length: n }, () => WORDS[Math.floor(next() * WORDS.length)]!);
      const sentence = `${words.join(" ")}.`;
      sentences.push(sentence.charAt(0).toUpperCase() + sentence.slice(1));
      total += sentence.length + 1;
    }
    paragraphs.push(sentences.join(" "));
  }
  return paragraphs;
}

export interface FixtureBook {
  readonly title: string;
  readonly author: string;
  readonly chapters: ReadonlyArray<{ readonly title: string; readonly paragraphs: readonly string[] }>;
  /** A cover image (JPEG bytes), listed as the EPUB's cover-image. */
  readonly cover?: Uint8Array;
}

/** A book of `count` chapters of about `charsEach` characters each. */
export function fixtureBook(count: number, charsEach: number): FixtureBook {
  return {
    title: "The House by the River",
    author: "A. Narrator",
    chapters: Array.from({ length: count }, (_, i) => ({
      title: `Chapter ${i + 1}`,
      paragraphs: prose(i + 1, charsEach),
    })),
  };
}

const xhtml = (title: string, body: string) =>
  `<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>${title}</title></head><body>${body}</body></html>`;

/** The book as an EPUB 3: container, package (metadata, manifest, spine), navigation document, one XHTML a chapter. */
export function epubOf(book: FixtureBook): Buffer {
  const files: Record<string, Uint8Array> = {
    mimetype: strToU8("application/epub+zip"),
    "META-INF/container.xml": strToU8(
      '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
    ),
  };
  const items = book.chapters.map((_, i) => `c${i + 1}`);
  files["OEBPS/content.opf"] = strToU8(
    `<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:uuid:fixture</dc:identifier><dc:title>${book.title}</dc:title><dc:creator>${book.author}</dc:creator><dc:language>en</dc:language></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>${book.cover ? '<item id="cover" href="cover.jpg" media-type="image/jpeg" properties="cover-image"/>' : ""}${items.map((id) => `<item id="${id}" href="${id}.xhtml" media-type="application/xhtml+xml"/>`).join("")}</manifest><spine>${items.map((id) => `<itemref idref="${id}"/>`).join("")}</spine></package>`,
  );
  files["OEBPS/nav.xhtml"] = strToU8(
    xhtml(
      "Contents",
      `<nav epub:type="toc"><ol>${book.chapters.map((c, i) => `<li><a href="${items[i]}.xhtml">${c.title}</a></li>`).join("")}</ol></nav>`,
    ),
  );
  book.chapters.forEach((c, i) => {
    files[`OEBPS/${items[i]}.xhtml`] = strToU8(
      xhtml(c.title, `<h1>${c.title}</h1>${c.paragraphs.map((p) => `<p>${p}</p>`).join("")}`),
    );
  });
  if (book.cover) files["OEBPS/cover.jpg"] = book.cover;
  return Buffer.from(zipSync(files));
}
