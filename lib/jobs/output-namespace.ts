/**
 * Where a tenant's jobs may write: an API key's explicit output keys live under its own namespace,
 * `<output prefix>t-<16 hex of its owner digest>/`. Another key's outputs and an upload's (which mirror the input
 * paths) are outside it, so no key can overwrite, read through its own job, delete or even probe another's objects.
 */
export function tenantNamespace(owner: string): string {
  return `t-${owner.slice(0, 16)}`;
}

/** The prefix every explicit output key of `owner` starts with. */
export function tenantOutputPrefix(outputPrefix: string, owner: string): string {
  return `${outputPrefix}${tenantNamespace(owner)}/`;
}
