/** The NLS meta service's CreateToken action (POP RPC, version 2019-02-28; facts §5). */
import { randomBytes } from "node:crypto";
import type { RpcHandler } from "../pop/server.js";
import type { TokenRegistry } from "./tokens.js";

export function nlsMetaActions(tokens: TokenRegistry): Record<string, RpcHandler> {
  return {
    CreateToken: ({ userId }) => {
      const token = tokens.issue(userId);
      return {
        NlsRequestId: randomBytes(16).toString("hex"),
        ErrMsg: "",
        Token: { Id: token.id, ExpireTime: token.expireTime, UserId: token.userId },
      };
    },
  };
}
