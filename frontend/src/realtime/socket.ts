/**
 * How the web app opens a Socket.IO namespace of its server (the conversation, the jobs): the same
 * path, token and transports for every socket, so a proxy or a token setting works for all of them.
 */

import { io, type Socket } from "socket.io-client";
import { getToken } from "../api/client";

export interface SocketOptions {
  /** Server origin; "" (default) is the page's own origin. */
  url?: string;
  path?: string;
  /** Read on every connection attempt (default: getToken in api/client; the page's cookie is sent anyway). */
  token?: () => string | null;
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
  transports?: ("websocket" | "polling")[];
}

/** A socket for `namespace`, not yet connected; `delays` are the reconnection defaults of its kind. */
export function openSocket<S extends object, C extends object>(
  namespace: string,
  options: SocketOptions,
  delays: { first: number; max: number },
): Socket<S, C> {
  const token = options.token ?? getToken;
  return io(`${options.url ?? ""}${namespace}`, {
    path: options.path ?? "/socket.io",
    autoConnect: false,
    reconnection: true,
    reconnectionDelay: options.reconnectionDelay ?? delays.first,
    reconnectionDelayMax: options.reconnectionDelayMax ?? delays.max,
    randomizationFactor: 0.3,
    transports: options.transports ?? ["websocket", "polling"],
    tryAllTransports: true, // a proxy that refuses WebSocket still gets long-polling
    auth: (cb) => {
      const value = token();
      cb(value ? { token: value } : {});
    },
  });
}
