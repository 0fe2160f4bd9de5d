/**
 * The README's code, run as written: the ```js block after an HTML marker (`<!-- live-client -->`), written beside
 * node_modules so its packages resolve as in a user's project, and imported.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";

/** The ```js block that follows `<!-- marker -->` in the README; throws when there is none. */
export async function readmeSnippet(marker: string): Promise<string> {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  const code = new RegExp(`<!-- ${marker} -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
  if (code === undefined) throw new Error(`the README has no js block after <!-- ${marker} -->`);
  return code;
}

/** Imports `code` as a module of the user's project named after `name`. */
export async function importSnippet<T>(name: string, code: string): Promise<T> {
  const dir = new URL("../../node_modules/.cache/readme-snippets/", import.meta.url);
  await mkdir(dir, { recursive: true });
  const file = new URL(`${name}-${randomUUID()}.mjs`, dir);
  await writeFile(file, code);
  return (await import(file.href)) as T;
}
