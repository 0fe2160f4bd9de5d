/**
 * RFC 3986 percent-encoding, which Alibaba's signatures (POP RPC, OSS V4) are computed over: encodeURIComponent leaves
 * ! ' ( ) * as they are, RFC 3986 encodes them.
 */
export const rfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
