/**
 * A POP RPC endpoint (the `?Action=...&Version=...` style of nls-meta and ICE): signature verified, then the
 * action's handler answers JSON, and errors come back in POP's shape ({RequestId, HostId, Code, Message}).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, requestId, sendJson } from "../http-util.js";
import { isAllowed } from "../ram/policy.js";
import type { RpcVerifier } from "./rpc-signature.js";
import { parseRpcParams } from "./rpc-signature.js";

export interface RpcContext {
  readonly params: Record<string, string>;
  readonly userId: string;
  readonly requestId: string;
}

export class RpcFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type RpcHandler = (ctx: RpcContext) => Record<string, unknown> | Promise<Record<string, unknown>>;

export function popHandler(opts: {
  host: string;
  version: string;
  verifier: RpcVerifier;
  actions: Record<string, RpcHandler>;
  /** The RAM product code (`ice`, `nls`): a role's credentials need `<product>:<Action>` in their policy. */
  product: string;
  region: string;
}) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const id = requestId();
    const url = new URL(req.url ?? "/", "http://local");
    const raw = req.method === "POST" ? (await readBody(req)).toString("utf8") : url.search.slice(1);
    const params = parseRpcParams(raw);
    const error = (status: number, code: string, message: string): void =>
      sendJson(res, status, {
        RequestId: id,
        HostId: opts.host,
        Code: code,
        Message: message,
        Recommend: `https://api.aliyun.com/troubleshoot?q=${code}`,
      });
    const verified = opts.verifier.verify(req.method ?? "GET", params);
    if (!verified.ok) return error(verified.error.status, verified.error.code, verified.error.message);
    if (verified.params.Version !== opts.version)
      return error(400, "InvalidVersion", `Specified parameter Version is not valid.`);
    const action = opts.actions[verified.params.Action ?? ""];
    if (!action)
      return error(404, "InvalidAction.NotFound", `Specified api is not found, please check your url and method.`);
    // RAM: a role's STS credentials may call only what its policy allows (`ice:SubmitAudioProduceJob` on `*`).
    const role = verified.key.role;
    const ramAction = `${opts.product}:${verified.params.Action}`;
    if (
      role &&
      !isAllowed(role.policy, {
        action: ramAction,
        resource: `acs:${opts.product}:${opts.region}:${verified.userId}:*`,
      })
    )
      return error(
        403,
        "Forbidden.RAM",
        `User not authorized to operate on the specified resource, or this API doesn't support RAM (${role.name} lacks ${ramAction}).`,
      );
    try {
      const body = await action({ params: verified.params, userId: verified.userId, requestId: id });
      sendJson(res, 200, { RequestId: id, ...body });
    } catch (e) {
      if (e instanceof RpcFault) return error(e.status, e.code, e.message);
      throw e;
    }
  };
}
