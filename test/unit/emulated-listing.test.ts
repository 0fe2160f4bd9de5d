import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { BucketFiles } from "../../infra/local/oss/bucket-files.js";

/** What a listing must return, written the plain way: every key filtered and sorted, grouped by the delimiter. */
function plainListing(
  keys: readonly string[],
  opts: { prefix: string; marker: string; maxKeys: number; delimiter: string },
): { keys: string[]; prefixes: string[]; truncated: boolean } {
  const entries: Array<{ key?: string; prefix?: string }> = [];
  for (const key of [...new Set(keys)].filter((k) => k.startsWith(opts.prefix) && k > opts.marker).sort()) {
    const rest = key.slice(opts.prefix.length);
    const cut = opts.delimiter ? rest.indexOf(opts.delimiter) : -1;
    if (cut === -1) entries.push({ key });
    else {
      const prefix = opts.prefix + rest.slice(0, cut + opts.delimiter.length);
      if (!entries.some((e) => e.prefix === prefix)) entries.push({ prefix });
    }
  }
  const page = entries.slice(0, opts.maxKeys);
  return {
    keys: page.flatMap((e) => (e.key ? [e.key] : [])),
    prefixes: page.flatMap((e) => (e.prefix ? [e.prefix] : [])),
    truncated: entries.length > opts.maxKeys,
  };
}

describe("the OSS emulator's listing (kept in order, not sorted per request)", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const put = (files: BucketFiles, key: string) =>
    files.put("b", key, Readable.from([Buffer.from("x")]), {
      contentType: "text/plain",
      userMeta: {},
      forbidOverwrite: false,
    });

  it("returns the plain listing's page, and pages through to the same keys, for any keys, deletes and options, before and after a restart", async () => {
    const segment = fc.constantFrom("a", "b", "ab", "a/", "/", "z", "中", "-", "0");
    const key = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join(""));
    await fc.assert(
      fc.asyncProperty(
        fc.array(key, { maxLength: 40 }),
        fc.array(key, { maxLength: 10 }),
        fc.record({
          prefix: fc.constantFrom("", "a", "a/", "b", "ab"),
          marker: fc.oneof(fc.constant(""), key),
          maxKeys: fc.integer({ min: 1, max: 8 }),
          delimiter: fc.constantFrom("", "/"),
        }),
        async (written, deleted, opts) => {
          const dir = mkdtempSync(join(tmpdir(), "listing-"));
          dirs.push(dir);
          const files = new BucketFiles(dir, ["b"]);
          await files.init();
          for (const k of written) await put(files, k);
          for (const k of deleted) await files.delete("b", k);
          const live = written.filter((k) => !deleted.includes(k));
          const page = files.list("b", opts);
          const expected = plainListing(live, opts);
          expect({ keys: page.objects.map((o) => o.key), prefixes: page.prefixes, truncated: page.truncated }).toEqual(
            expected,
          );
          // Paging on from each page's marker yields every entry once, in order.
          const all = plainListing(live, { ...opts, maxKeys: 10_000 });
          const seen = { keys: [...expected.keys], prefixes: [...expected.prefixes] };
          let next = page;
          while (next.truncated) {
            next = files.list("b", { ...opts, marker: next.next });
            seen.keys.push(...next.objects.map((o) => o.key));
            seen.prefixes.push(...next.prefixes);
          }
          expect(seen).toEqual({ keys: all.keys, prefixes: all.prefixes });
          // A restart loads the same keys from disk, in the same order.
          const restarted = new BucketFiles(dir, ["b"]);
          await restarted.init();
          expect(restarted.list("b", opts)).toEqual(page);
        },
      ),
      { numRuns: 200, seed: 31 },
    );
  });
});
