/**
 * Max-min fair shares: `capacity` divided among claimants so that none gets more than it asks for and no claimant
 * could get more without taking from one that has less (water-filling). Shares are real numbers; a claimant is within
 * its share while it holds at most the share rounded up.
 */
export function fairShares(capacity: number, demands: ReadonlyMap<string, number>): Map<string, number> {
  const shares = new Map<string, number>();
  const open = [...demands].filter(([, d]) => d > 0).sort((a, b) => a[1] - b[1]);
  let left = capacity;
  for (let i = 0; i < open.length; i++) {
    const [who, demand] = open[i]!;
    const even = left / (open.length - i);
    const share = Math.min(demand, even);
    shares.set(who, share);
    left -= share;
  }
  return shares;
}

/** Whether holding `held` tasks keeps within `share` (a fractional share lets its claimant round up). */
export function withinShare(held: number, share: number | undefined): boolean {
  return held <= Math.ceil((share ?? 0) - 1e-9);
}
