/**
 * How long the pause at each join may be, and what to trim to keep it so. A listener hears a join as a sentence end:
 * its pause is bounded by max(1.5 × the voice's median pause between sentences, a <break> the text asks for there).
 * Silence beyond the bound (a provider's lead-in and tail, or a part padded with seconds of silence) is trimmed down
 * to the voice's own pause, which costs no synthesis; speech is never cut (at least MIN_EDGE_MS of silence stays on
 * each side), and a part in which no speech was found is left as it is.
 */
import type { PartEdges } from "./part-edges.js";
import type { PartTrim } from "./stitch.js";

/** The bound over the voice's median sentence pause. */
export const PAUSE_BOUND_FACTOR = 1.5;
/** Silence kept at each edge of a trimmed part, so a consonant's quiet start or end is not cut. */
export const MIN_EDGE_MS = 120;
/** The least median pause assumed: a voice's timings that leave no gap between sentences still pause. */
export const MIN_SENTENCE_PAUSE_MS = 200;

export interface SeamBound {
  /** The part before the join (-1: the silence at the start of the whole). */
  readonly after: number;
  readonly boundMs: number;
  /** The pause measured in the parts before trimming. */
  readonly pauseMs: number;
}

/**
 * `breaksMs[i]`: the pause the text asks for at the join after part i (a <break> at its end or the next part's
 * start), 0 when none.
 */
export function planSeams(
  edges: readonly PartEdges[],
  medianPauseMs: number,
  breaksMs: readonly number[] = [],
): { trims: PartTrim[]; bounds: SeamBound[] } {
  const pause = Math.max(MIN_SENTENCE_PAUSE_MS, medianPauseMs);
  const trims = edges.map((e) => ({ leadMs: 0, trailMs: 0, voiceMs: e.leadMs }));
  const bounds: SeamBound[] = [];
  edges.forEach((next, i) => {
    const previous = i > 0 ? edges[i - 1] : undefined;
    const asked = i > 0 ? (breaksMs[i - 1] ?? 0) : 0;
    const boundMs = Math.max(PAUSE_BOUND_FACTOR * pause, asked);
    const trail = previous ? previous.trailMs : 0;
    const pauseMs = trail + next.leadMs;
    bounds.push({ after: i - 1, boundMs: Math.round(boundMs), pauseMs });
    if (pauseMs <= boundMs || !next.voiced || (previous && !previous.voiced)) return;
    const excess = pauseMs - Math.max(pause, asked);
    // From the longer silence first, then from both alike.
    const a = Math.max(0, next.leadMs - MIN_EDGE_MS);
    const b = previous ? Math.max(0, trail - MIN_EDGE_MS) : 0;
    const cut = Math.min(excess, a + b);
    const fromLonger = Math.min(cut, Math.abs(a - b));
    const even = (cut - fromLonger) / 2;
    const leadCut = Math.min(a, (a >= b ? fromLonger : 0) + even);
    const trailCut = Math.min(b, cut - leadCut);
    trims[i]!.leadMs = Math.floor(leadCut);
    if (previous) trims[i - 1]!.trailMs = Math.floor(trailCut);
  });
  return { trims, bounds };
}
