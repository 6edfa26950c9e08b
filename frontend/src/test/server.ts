/**
 * A real HTTP server (node:http) started inside a test, answering with the API's JSON shapes.
 * Tests register handlers per "METHOD /path" and read back the requests the app made.
 * It sends CORS headers because jsdom's XMLHttpRequest enforces CORS like a browser.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiClient } from "../api/client";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: Buffer;
  /** The body parsed as JSON (throws if it is not). */
  json<T = unknown>(): T;
  /** The multipart/urlencoded body parsed into a FormData (Node's own parser). */
  form(): Promise<FormData>;
}

export interface Reply {
  status?: number;
  json?: unknown;
  body?: Buffer | string;
  headers?: Record<string, string>;
  /** Wait before answering (to observe in-between UI states). */
  delayMs?: number;
}

export type Handler = (req: RecordedRequest) => Reply | Promise<Reply>;

export interface TestServer {
  url: string;
  /** The node:http server (a test Socket.IO server can listen beside the API on the same port). */
  http: Server;
  client: ApiClient;
  requests: RecordedRequest[];
  /** Register (or replace) the handler of "METHOD /path" (exact path, no query). */
  on(route: string, handler: Handler | Reply): void;
  /** Requests made to "METHOD /path". */
  calls(route: string): RecordedRequest[];
  close(): Promise<void>;
}

const CORS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
  "Access-Control-Allow-Headers": "*, Authorization, Content-Type",
  "Access-Control-Expose-Headers": "*, Content-Type",
};

/**
 * A handler that answers with `replies` one after another and then keeps answering with the last one
 * (a job or a warm-up that moves on between polls).
 */
export function sequence(...replies: Reply[]): Handler {
  let n = 0;
  return () => replies[Math.min(n++, replies.length - 1)];
}

/** The server's error body: `{"error": {code, message, detail}}` with extra fields merged in. */
export function errorReply(status: number, code: string, message: string, extra: Record<string, unknown> = {}): Reply {
  return { status, json: { error: { code, message, detail: message, ...extra } } };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startServer(): Promise<TestServer> {
  const handlers = new Map<string, Handler>();
  const requests: RecordedRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const body = await readBody(req);
    if (req.method === "OPTIONS") {
      res.writeHead(204, CORS);
      res.end();
      return;
    }
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      json: <T,>() => JSON.parse(body.toString("utf8")) as T,
      form: () => new Response(new Uint8Array(body), { headers: { "content-type": req.headers["content-type"] ?? "" } }).formData(),
    };
    requests.push(recorded);
    const handler = handlers.get(`${recorded.method} ${recorded.path}`);
    let reply: Reply;
    try {
      reply = handler ? await handler(recorded) : errorReply(404, "not_found", "Не найдено.");
    } catch (err) {
      reply = errorReply(500, "internal_error", "Внутренняя ошибка сервера.", { detail: String(err) });
    }
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    const status = reply.status ?? 200;
    if (reply.json !== undefined) {
      res.writeHead(status, { ...CORS, "Content-Type": "application/json", ...reply.headers });
      res.end(JSON.stringify(reply.json));
    } else {
      res.writeHead(status, { ...CORS, ...reply.headers });
      res.end(reply.body ?? "");
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(500, CORS);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    http: server,
    client: new ApiClient({ baseUrl: url, token: null }),
    requests,
    on(route, handler) {
      handlers.set(route, typeof handler === "function" ? handler : () => handler);
    },
    calls(route) {
      return requests.filter((r) => `${r.method} ${r.path}` === route);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
