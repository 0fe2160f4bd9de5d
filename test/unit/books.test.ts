/**
 * Books in: an EPUB's chapters from its own table of contents (EPUB 3 nav, EPUB 2 NCX), a Markdown book's from its
 * headings, each with the text a listener should hear; bad books refused up front, naming what is wrong.
 */
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { readEpub } from "../../lib/books/epub.js";
import { readMarkdown } from "../../lib/books/markdown.js";

const CONTAINER = `<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`;
const xhtml = (body: string) =>
  `<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>x</title><style>p{}</style></head><body>${body}</body></html>`;

function epub(files: Record<string, string>): Uint8Array {
  return zipSync(
    Object.fromEntries([
      ["mimetype", strToU8("application/epub+zip")],
      ["META-INF/container.xml", strToU8(CONTAINER)],
      ...Object.entries(files).map(([k, v]) => [k, strToU8(v)]),
    ]),
  );
}

const opf = (manifest: string, spine: string, toc = "") =>
  `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>长夜</dc:title><dc:creator>某作者</dc:creator></metadata><manifest>${manifest}</manifest><spine${toc}>${spine}</spine></package>`;

const EPUB3 = {
  "OEBPS/content.opf": opf(
    `<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="text/c1.xhtml" media-type="application/xhtml+xml"/><item id="c2" href="text/c2.xhtml" media-type="application/xhtml+xml"/>`,
    `<itemref idref="c1"/><itemref idref="c2"/>`,
  ),
  "OEBPS/nav.xhtml": xhtml(
    `<nav epub:type="toc"><ol><li><a href="text/c1.xhtml">第一章 开始</a><ol><li><a href="text/c1.xhtml#s1">一节</a></li></ol></li><li><a href="text/c2.xhtml">第二章</a></li><li><a href="text/c2.xhtml#c3">第三章 <em>终</em></a></li></ol></nav><nav epub:type="landmarks"><ol><li><a href="text/c1.xhtml">Start</a></li></ol></nav>`,
  ),
  "OEBPS/text/c1.xhtml": xhtml(
    `<h1>第一章 开始</h1><p>夜很长。</p><p id="s1">他<b>走</b>了很久。<img src="a.png" alt="一幅地图"/></p><script>alert(1)</script>`,
  ),
  "OEBPS/text/c2.xhtml": xhtml(
    `<h1>第二章</h1><p>天亮了。</p><h1 id="c3">第三章 终</h1><ul><li>一</li><li>二</li></ul>`,
  ),
};

describe("EPUB", () => {
  it("takes an EPUB 3's chapters from its nav, each from its target to the next, in reading order", () => {
    const book = readEpub(epub(EPUB3));
    expect(book).toMatchObject({ title: "长夜", author: "某作者" });
    expect(book.chapters).toEqual([
      { title: "第一章 开始", text: "第一章 开始\n夜很长。\n他走了很久。" },
      { title: "第二章", text: "第二章\n天亮了。" },
      { title: "第三章 终", text: "第三章 终\n一\n二" },
    ]);
    // Images are said by their alt text only when asked.
    expect(readEpub(epub(EPUB3), { altText: true }).chapters[0]!.text).toContain("他走了很久。 一幅地图");
  });

  it("keeps a JPEG or PNG cover (EPUB 3's cover-image, EPUB 2's meta), and leaves out a cover an M4B cannot carry", () => {
    const withCover = (item: string, meta: string, bytes: Uint8Array) => {
      const files: Record<string, Uint8Array> = Object.fromEntries(
        Object.entries(EPUB3).map(([k, v]) => [k, strToU8(v)]),
      );
      files["OEBPS/content.opf"] = strToU8(
        EPUB3["OEBPS/content.opf"]
          .replace("<manifest>", `<manifest>${item}`)
          .replace("</metadata>", `${meta}</metadata>`),
      );
      files["OEBPS/cover.img"] = bytes;
      return zipSync({
        mimetype: strToU8("application/epub+zip"),
        "META-INF/container.xml": strToU8(CONTAINER),
        ...files,
      });
    };
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]);
    expect(
      readEpub(withCover('<item id="cv" href="cover.img" media-type="image/jpeg" properties="cover-image"/>', "", jpeg))
        .cover,
    ).toEqual({ bytes: jpeg, mediaType: "image/jpeg" });
    expect(
      readEpub(
        withCover('<item id="cv" href="cover.img" media-type="image/png"/>', '<meta name="cover" content="cv"/>', png),
      ).cover,
    ).toEqual({ bytes: png, mediaType: "image/png" });
    expect(
      readEpub(
        withCover(
          '<item id="cv" href="cover.img" media-type="image/gif" properties="cover-image"/>',
          "",
          strToU8("GIF89a"),
        ),
      ).cover,
    ).toBeUndefined();
    expect(readEpub(epub(EPUB3)).cover).toBeUndefined();
  });

  it("takes an EPUB 2's chapters from its NCX", () => {
    const book = readEpub(
      epub({
        "OEBPS/content.opf": opf(
          `<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/><item id="a" href="a.html" media-type="application/xhtml+xml"/><item id="b" href="b.html" media-type="application/xhtml+xml"/>`,
          `<itemref idref="a"/><itemref idref="b"/>`,
          ` toc="ncx"`,
        ),
        "OEBPS/toc.ncx": `<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap><navPoint id="p1"><navLabel><text>One</text></navLabel><content src="a.html"/><navPoint id="p1a"><navLabel><text>One, part</text></navLabel><content src="a.html#x"/></navPoint></navPoint><navPoint id="p2"><navLabel><text>Two</text></navLabel><content src="b.html"/></navPoint></navMap></ncx>`,
        "OEBPS/a.html": xhtml(`<p>It began.</p><p id="x">It went on.</p>`),
        "OEBPS/b.html": xhtml(`<p>It ended.</p>`),
      }),
    );
    expect(book.chapters).toEqual([
      { title: "One", text: "It began.\nIt went on." },
      { title: "Two", text: "It ended." },
    ]);
  });

  it("refuses what is not an EPUB, one under DRM, one without a table of contents, and an empty chapter, naming each", () => {
    const refusal = (bytes: Uint8Array) => {
      try {
        readEpub(bytes);
      } catch (error) {
        return error as { field: string; code: string; message: string; statusCode: number };
      }
      throw new Error("accepted");
    };
    expect(refusal(strToU8("not a zip at all"))).toMatchObject({ field: "book", code: "InvalidEpub", statusCode: 400 });
    const drm = `<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><EncryptedData><CipherData><CipherReference URI="OEBPS/text/c1.xhtml"/></CipherData></EncryptedData></encryption>`;
    expect(refusal(epub({ ...EPUB3, "META-INF/encryption.xml": drm })).code).toBe("DrmProtected");
    // Obfuscated fonts are not DRM: the book is read.
    const fonts = drm.replace("OEBPS/text/c1.xhtml", "OEBPS/fonts/a.otf");
    expect(readEpub(epub({ ...EPUB3, "META-INF/encryption.xml": fonts })).chapters).toHaveLength(3);
    const noNav = { ...EPUB3, "OEBPS/content.opf": EPUB3["OEBPS/content.opf"].replace(' properties="nav"', "") };
    expect(refusal(epub(noNav))).toMatchObject({ code: "NoToc" });
    expect(refusal(epub(noNav)).message).toMatch(/table of contents/);
    const empty = { ...EPUB3, "OEBPS/text/c2.xhtml": xhtml(`<p>　</p><h1 id="c3">第三章 终</h1><p>一</p>`) };
    expect(refusal(epub(empty))).toMatchObject({ code: "EmptyChapter" });
    expect(refusal(epub(empty)).message).toMatch(/chapter 2 \("第二章"\)/);
  });
});

describe("Markdown", () => {
  it("cuts at the level used more than once; a lone # titles the book; the syntax is not spoken", () => {
    const book = readMarkdown(
      "# 长夜\n\n## 第一章\n\n夜**很**长，见[地图](map.png)。\n\n![图](a.png)\n\n## 第二章\n\n- 一\n- 二\n\n```\n# 不是标题\n```\n",
    );
    expect(book.title).toBe("长夜");
    expect(book.chapters).toEqual([
      { title: "第一章", text: "第一章\n夜很长，见地图。" },
      { title: "第二章", text: "第二章\n一\n二" },
    ]);
    expect(readMarkdown("# A\nx\n![a map](a.png)\n# B\ny", { altText: true }).chapters[0]!.text).toBe("A\nx\na map");
  });

  it("keeps text before the first chapter as front matter, and refuses a book without headings or with an empty chapter", () => {
    const book = readMarkdown("Preface words.\n# One\nFirst.\n# Two\nSecond.");
    expect(book.chapters.map((c) => c.title)).toEqual(["Front matter", "One", "Two"]);
    expect(() => readMarkdown("just text")).toThrow(expect.objectContaining({ field: "book", code: "NoChapters" }));
    expect(() => readMarkdown("# One\ntext\n# Two\n\n# Three\nmore")).toThrow(
      expect.objectContaining({ code: "EmptyChapter" }),
    );
  });
});
