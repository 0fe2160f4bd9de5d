/** XML escaping of plain text, so user text can never be read as SSML (seed 001: escape " ' & < >). */
const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const NAMED: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes the five XML entities and numeric references; returns undefined for anything else. */
export function decodeEntity(body: string): string | undefined {
  if (body in NAMED) return NAMED[body];
  const m = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(body);
  if (!m?.[1]) return undefined;
  const code = m[1].startsWith("x") ? Number.parseInt(m[1].slice(1), 16) : Number.parseInt(m[1], 10);
  return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : undefined;
}

/** A run of XML text with its entities decoded; anything that is not one of them is left as it stands. */
export function decodeEntities(text: string): string {
  return text.replace(/&([^;&\s]{1,10});/g, (all, body: string) => decodeEntity(body) ?? all);
}
