/** Batch items by reference: a JSON Lines object, checked line by line, every error naming its line. */
import { describe, expect, it } from "vitest";
import { readItemsFile } from "../../lib/batches/items-file.js";
import { MemoryBucket } from "../../lib/storage/bucket.js";

const opts = { inputPrefix: "input/", field: "data.itemsFrom.key" };

async function storeWith(key: string, text: string | Buffer): Promise<MemoryBucket> {
  const storage = new MemoryBucket();
  await storage.put(key, text);
  return storage;
}

describe("an items file", () => {
  it("reads one item a line, skipping blank lines, with the upload's header first when asked", async () => {
    const text = '\n{"id":"a","text":"你好。"}\n\n{"id":"b","text":"再见。"}\n';
    const { items } = await readItemsFile(await storeWith("input/items.jsonl", text), "input/items.jsonl", opts);
    expect(items.map((i) => i.id)).toEqual(["a", "b"]);
    const upload = `{"batch":{"outputPrefix":"output/b/"}}\n${text}`;
    const read = await readItemsFile(await storeWith("input/x.batch.jsonl", upload), "input/x.batch.jsonl", {
      ...opts,
      header: true,
    });
    expect(read.header?.outputPrefix).toBe("output/b/");
    expect(read.items).toHaveLength(2);
  });

  it.each([
    [
      "a key outside the input prefix",
      "output/items.jsonl",
      '{"id":"a","text":"好。"}',
      { field: "data.itemsFrom.key" },
    ],
    ["a line that is not JSON", "input/i.jsonl", '{"id":"a","text":"好。"}\n{oops', { field: "input/i.jsonl line 2" }],
    [
      "a repeated id",
      "input/i.jsonl",
      '{"id":"a","text":"好。"}\n{"id":"a","text":"又。"}',
      { field: "input/i.jsonl line 2.id" },
    ],
    ["no items", "input/i.jsonl", "\n\n", { code: "InvalidItemsFile" }],
    ["invalid UTF-8", "input/i.jsonl", Buffer.from([0x7b, 0xff, 0x7d]), { field: "data.itemsFrom.key" }],
  ])("refuses %s, naming where", async (_name, key, text, expected) => {
    const storage = await storeWith(key, text);
    await expect(readItemsFile(storage, key, opts)).rejects.toMatchObject(expected);
  });

  it("refuses a missing object with 404 and an upload without its header line", async () => {
    await expect(readItemsFile(new MemoryBucket(), "input/none.jsonl", opts)).rejects.toMatchObject({
      statusCode: 404,
    });
    const storage = await storeWith("input/u.batch.jsonl", '{"id":"a","text":"好。"}');
    await expect(readItemsFile(storage, "input/u.batch.jsonl", { ...opts, header: true })).rejects.toMatchObject({
      field: "input/u.batch.jsonl line 1.batch",
    });
  });
});
