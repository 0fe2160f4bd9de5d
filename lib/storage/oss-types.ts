/** What OSS access is configured with, and what a write takes and a read answers. */

export interface OssStorageConfig {
  readonly bucket: string;
  /** `oss-cn-shanghai`; also the V4 signing region. */
  readonly region: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
  /** Custom endpoint (the local cloud, or an accelerate domain). */
  readonly endpoint?: string;
  readonly internal?: boolean;
  /** Path-style addressing; the local cloud needs it (peers.md §4). */
  readonly pathStyle?: boolean;
  readonly timeoutMs?: number;
  /**
   * The origin of signed download links: a custom domain bound to the bucket. Without it links use the bucket's
   * public endpoint, never the internal one (reachable only from inside Alibaba Cloud in the region).
   */
  readonly publicEndpoint?: string;
  /** Fresh STS credentials when the current ones near expiry (FC role credentials rotate). */
  readonly refreshCredentials?: () => { accessKeyId: string; accessKeySecret: string; securityToken?: string };
}

export interface PutOptions {
  readonly contentType?: string;
  readonly meta?: Record<string, string>;
  /** Fail with `exists` instead of overwriting (x-oss-forbid-overwrite). */
  readonly ifAbsent?: boolean;
}

export interface StreamPutOptions extends PutOptions {
  /** Bytes per multipart part (OSS minimum 100 KiB except the last). */
  readonly partSize?: number;
  /**
   * Parts uploading at once while the next is read (default 3: a copy from one socket to another is bound by the
   * round trips of each part, not the bandwidth); memory use is about partSize × (partsInFlight + 1).
   */
  readonly partsInFlight?: number;
  readonly signal?: AbortSignal;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly contentType?: string;
  readonly meta: Record<string, string>;
  readonly lastModified?: string;
}
