/**
 * Our credentials never leave the process in text we did not write: an upstream's message can quote what we sent it
 * (the NLS gateway answers a refused token with "The token '<token>' is invalid!"), and such a message is relayed to
 * clients, stored as a job's failure reason and logged. Every credential this process holds is registered here when it
 * is read or obtained, and `scrubSecrets` replaces any of them, and anything shaped like a quoted token, before the
 * text goes anywhere.
 */
const MAX_TRACKED = 64;
const secrets = new Set<string>();

/** Remembers a credential to scrub (config values at parse time, tokens as they are fetched). Short values are ignored. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 8 || secrets.has(value)) return;
  secrets.add(value);
  // Tokens rotate: keep the newest few, so the set stays small however long the instance lives.
  if (secrets.size > MAX_TRACKED) secrets.delete(secrets.values().next().value!);
}

/** Quoted tokens and bearer credentials, whoever they belong to. */
const SHAPES: ReadonlyArray<readonly [RegExp, string]> = [
  [/(token\s*[:=]?\s*)(['"])[^'"\s]{6,}\2/gi, "$1$2[redacted]$2"],
  [/(bearer\s+)[\w.~+/-]{6,}=*/gi, "$1[redacted]"],
  [/\bsk-[A-Za-z0-9]{8,}\b/g, "[redacted]"],
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join("[redacted]");
  for (const [pattern, replacement] of SHAPES) out = out.replace(pattern, replacement);
  return out;
}
