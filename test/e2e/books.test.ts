/**
 * A book through the job API: a Markdown book's chapters become parts of their own, and the finished MP3 carries
 * them in its ID3 tag (read by music-metadata), each starting where its first part is heard; the map lists them. A bad
 * book is refused up front, naming what is wrong.
 */

import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { parseBuffer } from "music-metadata";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { mp3DurationMs } from "../../lib/audio/mp3.js";
import type { Job } from "../../lib/jobs/schema.js";
import { epubOf, fixtureBook } from "../helpers/book-fixture.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { jobsFor, settle as settleAll, submitJob } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "books-key";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY, JOBS_PART_CHARS: "100" });
const settle = () => settleAll(host, cloud());
const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };

const chapter = (n: number, sentences: number) =>
  `## 第${n}章\n\n${Array.from({ length: sentences }, (_, i) => `这是第${n}章的第${i + 1}句话，讲得很慢。`).join("")}\n`;
const BOOK = `# 长夜\n\n${chapter(1, 8)}\n${chapter(2, 3)}\n${chapter(3, 12)}`;

/** A finished book's audiobook, read back: the M4B's chapters by ffprobe, each chapter's file, the report. */
async function expectAudiobook(job: Job, titles: string[]): Promise<void> {
  const outputs = job.book?.outputs;
  expect(outputs?.chapters.map((c) => c.title)).toEqual(titles);
  const oss = userOss(cloud());
  const file = join(tmpdir(), `books-${job.id}.m4b`);
  await writeFile(file, (await oss.get(outputs!.m4bKey)).content as Buffer);
  try {
    expect((await ffprobe(file)).chapters.map((c) => c.tags?.title)).toEqual(titles);
  } finally {
    await rm(file, { force: true });
  }
  for (const c of outputs!.chapters) expect((await oss.head(c.audioKey)).status).toBe(200);
  const report = JSON.parse((await oss.get(outputs!.reportKey)).content.toString()) as {
    chapterCount: { pass: boolean };
  };
  expect(report.chapterCount.pass).toBe(true);
}

describe("books", () => {
  it("makes a Markdown book into one MP3 whose tag holds its chapters, each where its first part is heard", async () => {
    const id = await submitJob(host, KEY, {
      book: { markdown: BOOK },
      voice: "siqi",
      format: "mp3",
      subtitles: ["srt"],
    });
    await settle();
    const job = (await host.platform.jobs().jobs.get(id)) as Job;
    expect(job.state, JSON.stringify(job.failure)).toBe("done");
    // Chapters start parts of their own: chapter 2's three sentences are one part, not the tail of chapter 1's.
    expect(job.chapters?.map((c) => c.title)).toEqual(["第1章", "第2章", "第3章"]);
    expect(job.parts!.length).toBeGreaterThan(3);
    const audio = (await userOss(cloud()).get(job.output.audioKey)).content as Buffer;
    const read = await parseBuffer(audio, { mimeType: "audio/mpeg" }, { includeChapters: true });
    const chapters = read.format.chapters!;
    expect(chapters.map((c) => c.title)).toEqual(["第1章", "第2章", "第3章"]);
    expect(chapters[0]!.start).toBe(0);
    expect(chapters.every((c, i) => i === 0 || c.start === chapters[i - 1]!.end)).toBe(true);
    expect(Math.abs(chapters.at(-1)!.end! * 1000 - mp3DurationMs(audio))).toBeLessThanOrEqual(36);
    // The label is still in the same tag.
    expect(read.native["ID3v2.4"]?.some((t) => t.id === "TXXX:AIGC")).toBe(true);
    // Each chapter's first sentence is heard within its first second, never before the chapter starts.
    const map = JSON.parse((await userOss(cloud()).get(job.coverage!.mapKey)).content.toString()) as {
      chapters: Array<{ title: string; startMs: number }>;
      sentences: Array<{ text: string; beginMs: number }>;
    };
    expect(map.chapters.map((c) => c.startMs)).toEqual(chapters.map((c) => Math.round(c.start * 1000)));
    for (const [n, c] of map.chapters.entries()) {
      const first = map.sentences.find((s) => s.text.startsWith(`这是第${n + 1}章的第1句`))!;
      expect(first.beginMs).toBeGreaterThanOrEqual(c.startMs);
      expect(first.beginMs - c.startMs).toBeLessThan(5000);
    }
    // No working copy is left.
    expect(cloud().oss.files.head(cloud().bucket, `jobs/assembly/${job.id}.mp3`)).toBeUndefined();
  });

  it("makes an uploaded .md or .epub into a chaptered book beside its name, and fails a bad one naming why", async () => {
    const oss = userOss(cloud());
    await oss.put("input/shelf/夜.md", Buffer.from(BOOK));
    const epub = zipSync({
      mimetype: strToU8("application/epub+zip"),
      "META-INF/container.xml": strToU8(
        '<container><rootfiles><rootfile full-path="content.opf"/></rootfiles></container>',
      ),
      "content.opf": strToU8(
        '<package><manifest><item id="nav" href="nav.xhtml" properties="nav"/><item id="a" href="a.xhtml"/><item id="b" href="b.xhtml"/></manifest><spine><itemref idref="a"/><itemref idref="b"/></spine></package>',
      ),
      "nav.xhtml": strToU8(
        '<html><body><nav epub:type="toc"><ol><li><a href="a.xhtml">One</a></li><li><a href="b.xhtml">Two</a></li></ol></nav></body></html>',
      ),
      "a.xhtml": strToU8("<html><body><p>第一章的第一句话。第一章的第二句话。</p></body></html>"),
      "b.xhtml": strToU8("<html><body><p>第二章只有一句话。</p></body></html>"),
    });
    await oss.put("input/shelf/two.epub", Buffer.from(epub));
    await oss.put("input/shelf/broken.epub", Buffer.from("not a zip"));
    await settle();
    // The book's own job (its parts come from the same upload).
    const jobFor = async (key: string) => (await jobsFor(host, key)).find((j) => !j.parent)!;
    const md = await jobFor("input/shelf/夜.md");
    expect(md.state, JSON.stringify(md.failure)).toBe("done");
    expect(md.output.audioKey).toBe("output/shelf/夜.mp3");
    const fromEpub = await jobFor("input/shelf/two.epub");
    expect(fromEpub.state, JSON.stringify(fromEpub.failure)).toBe("done");
    const read = await parseBuffer(
      (await oss.get(fromEpub.output.audioKey)).content as Buffer,
      {
        mimeType: "audio/mpeg",
      },
      { includeChapters: true },
    );
    expect(read.format.chapters?.map((c) => c.title)).toEqual(["One", "Two"]);
    // The audiobook beside it: an M4B with the same chapters, a file per chapter, the report.
    await expectAudiobook(fromEpub, ["One", "Two"]);
    await expectAudiobook(md, ["第1章", "第2章", "第3章"]);
    const broken = await jobFor("input/shelf/broken.epub");
    expect(broken.state).toBe("failed");
    expect(broken.failure?.reason).toMatch(/not a ZIP archive/);
  });

  it("makes a batch item whose input is a book into a chaptered book", async () => {
    const oss = userOss(cloud());
    await oss.put("input/shelf2/卷一.md", Buffer.from(BOOK));
    const rows = [
      { batch: { batchId: "books-batch", outputPrefix: "output/books-batch/" } },
      { id: "vol1", input: { key: "input/shelf2/卷一.md" } },
    ];
    await oss.put("input/shelf2/books.batch.jsonl", Buffer.from(rows.map((r) => JSON.stringify(r)).join("\n")));
    await settle();
    const item = (await jobsFor(host, "input/shelf2/卷一.md")).find((j) => j.batch?.id === "books-batch" && !j.parent)!;
    expect(item.state, JSON.stringify(item.failure)).toBe("done");
    expect(item.chapters?.map((c) => c.title)).toEqual(["第1章", "第2章", "第3章"]);
    const read = await parseBuffer(
      (await oss.get(item.output.audioKey)).content as Buffer,
      { mimeType: "audio/mpeg" },
      {
        includeChapters: true,
      },
    );
    expect(read.format.chapters?.map((c) => c.title)).toEqual(["第1章", "第2章", "第3章"]);
    await expectAudiobook(item, ["第1章", "第2章", "第3章"]);
  });

  it("makes a 40-chapter EPUB into a 40-chapter audiobook by upload and as a batch item", async () => {
    const oss = userOss(cloud());
    const book = fixtureBook(40, 150);
    const titles = book.chapters.map((c) => c.title);
    await oss.put("input/shelf3/forty.epub", epubOf(book));
    await oss.put("input/shelf4/forty.epub", epubOf(book));
    const rows = [
      { batch: { batchId: "forty-batch", outputPrefix: "output/forty-batch/" } },
      { id: "forty", input: { key: "input/shelf4/forty.epub" } },
    ];
    await oss.put("input/shelf4/forty.batch.jsonl", Buffer.from(rows.map((r) => JSON.stringify(r)).join("\n")));
    // The same book twice: the two jobs share their parts (keyed by content), and each is told when they end.
    await settle();
    const jobOf = async (source: string, pick: (j: Job) => boolean): Promise<Job> =>
      (await jobsFor(host, source)).find(pick)!;
    const uploaded = await jobOf("input/shelf3/forty.epub", (j) => !j.parent);
    expect(uploaded.state, JSON.stringify(uploaded.failure)).toBe("done");
    expect(uploaded.book).toMatchObject({ title: book.title, author: book.author, profile: "default" });
    await expectAudiobook(uploaded, titles);
    const item = await jobOf("input/shelf4/forty.epub", (j) => j.batch?.id === "forty-batch" && !j.parent);
    expect(item.state, JSON.stringify(item.failure)).toBe("done");
    await expectAudiobook(item, titles);
  }, 300_000);

  it("runs the README's POST /v1/books example as written", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const snippet = /curl -s -X POST "\$BASE\/v1\/books"[\s\S]*?-d '([^']*)'/.exec(readme);
    expect(snippet, "the README's /v1/books curl").not.toBeNull();
    const res = await fetch(`${host.url}/v1/books`, { method: "POST", headers, body: snippet![1] });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await settle();
    const job = (await host.platform.jobs().jobs.get(id)) as Job;
    expect(job.state, JSON.stringify(job.failure)).toBe("done");
    expect(job.book).toMatchObject({ title: "A Day", author: "Me", profile: "acx" });
    await expectAudiobook(job, ["One", "Two"]);
  });

  it("refuses a book in another format than MP3, naming the field", async () => {
    const res = await fetch(`${host.url}/v1/books`, {
      method: "POST",
      headers,
      body: JSON.stringify({ markdown: BOOK, format: "wav" }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string; message: string } }).error).toMatchObject({
      field: "format",
      message: expect.stringContaining("format must be mp3"),
    });
  });

  it("refuses a book that is not one, naming the field and what is wrong", async () => {
    for (const [book, code] of [
      [{ epub: Buffer.from("not a zip").toString("base64") }, "InvalidEpub"],
      [{ markdown: "no headings at all" }, "NoChapters"],
      [{ markdown: "# A\n\n# B\ntext" }, "EmptyChapter"],
    ] as const) {
      const res = await fetch(`${host.url}/v1/jobs`, { method: "POST", headers, body: JSON.stringify({ book }) });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { field: string; code: string } };
      expect(body.error).toMatchObject({ field: "book", code });
    }
  });
});
