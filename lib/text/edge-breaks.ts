/** The pauses SSML asks for at a text's very start and end: <break> elements before its first or after its last words. */
import { breakMs } from "./ssml.js";

const BREAK = /<break\b([^>]*)\/?>/gi;

function total(markup: string): number {
  let ms = 0;
  for (const m of markup.matchAll(BREAK)) ms += breakMs(/\btime\s*=\s*"([^"]*)"/i.exec(m[1] ?? "")?.[1]) ?? 0;
  return ms;
}

/** Milliseconds of <break> before the first and after the last character that is not markup or space. */
export function edgeBreaksMs(text: string): { leadMs: number; trailMs: number } {
  const lead = /^(?:\s|<[^>]*>)*/.exec(text)?.[0] ?? "";
  const trail = /(?:\s|<[^>]*>)*$/.exec(text)?.[0] ?? "";
  return { leadMs: total(lead), trailMs: lead.length === text.length ? 0 : total(trail) };
}
