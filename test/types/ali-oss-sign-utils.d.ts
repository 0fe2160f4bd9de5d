/** ali-oss's own signing module, which test/unit/oss-signing.test.ts compares our signer with. */
declare module "ali-oss/lib/common/signUtils.js" {
  export function authorizationV4(
    accessKeyId: string,
    accessKeySecret: string,
    region: string,
    method: string,
    request: { headers: Record<string, string>; queries: Record<string, string | null> },
    bucket: string,
    object: string,
  ): string;
}
