/**
 * A real Socket.IO server (the `socket.io` package on node:http) speaking the "/conversation"
 * namespace's event names and payload shapes, for tests. It records what clients send, answers
 * `start` with `ready` + `init` + idle segments from a real fMP4 stream, and lets a test drive the
 * rest. It also answers the few REST calls the conversation screen makes.
 */

import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Namespace, type Socket } from "socket.io";
import streamJson from "../../media/fixtures/stream.json?raw";
import type { ClientToServer, MediaEvent, ServerEvents, ServerToClient } from "../protocol";

export interface FixtureSegment {
  kind: "init" | "idle" | "speech";
  turn: number;
  t: number;
  duration: number;
  index: number;
  data: string;
}

export interface FixtureStream {
  mime: string;
  fps: number;
  segments: FixtureSegment[];
}

/** A real fMP4 stream written by ai_pipeline.encode.fmp4.FragmentedMp4Stream (64x64, 25 fps, 10 pieces of 3 frames). */
export function loadStreamFixture(): FixtureStream {
  return JSON.parse(streamJson) as FixtureStream;
}

export function segmentPayload(seg: FixtureSegment, mime: string): MediaEvent {
  return { data: Buffer.from(seg.data, "base64"), mime, kind: seg.kind, turn: seg.turn, t: seg.t, duration: seg.duration, index: seg.index };
}

export interface Received {
  sid: string;
  event: string;
  data: unknown;
}

export interface ConversationServerOptions {
  port?: number;
  token?: string;
  /** Session ids the server knows; `start` with another one gets `error` not_found. Default: any. */
  knownSessions?: Set<number>;
  /** REST: GET /api/sessions/{id}/messages answers. */
  messages?: Record<number, unknown[]>;
  personas?: unknown[];
  /** Stream the fixture's idle segments after `ready` (default true). */
  stream?: boolean;
  /** Refuse this many `start`s with `busy` (every slot taken) before accepting one. */
  busyStarts?: number;
  busyRetryS?: number;
}

export class ConversationServer {
  readonly received: Received[] = [];
  private http!: HttpServer;
  private io!: Server<ClientToServer, ServerToClient>;
  private nextSession = 100;
  port = 0;

  constructor(private readonly options: ConversationServerOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get ns(): Namespace<ClientToServer, ServerToClient> {
    return this.io.of("/conversation");
  }

  async start(port = this.options.port ?? this.port ?? 0): Promise<this> {
    this.http = createServer((req, res) => this.rest(req, res));
    this.io = new Server<ClientToServer, ServerToClient>(this.http, { cors: { origin: "*" }, maxHttpBufferSize: 1 << 20 });
    const ns = this.io.of("/conversation");
    ns.use((socket, next) => {
      const token = this.options.token;
      if (token && (socket.handshake.auth as { token?: string })?.token !== token) {
        const err = new Error("unauthorized") as Error & { data?: unknown };
        err.data = { code: "unauthorized", message: "Нужен токен." };
        return next(err);
      }
      next();
    });
    ns.on("connection", (socket) => this.wire(socket));
    await new Promise<void>((resolve) => this.http.listen(port, "127.0.0.1", resolve));
    this.port = (this.http.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.io.disconnectSockets(true);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
    this.http.closeAllConnections?.();
  }

  of(event: string): Received[] {
    return this.received.filter((r) => r.event === event);
  }

  /** Resolve when `predicate` holds (polling), or fail after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.received.map((r) => r.event))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Send a server event to every client (typed: the payload must be what the real server sends). */
  emit<K extends keyof ServerEvents>(event: K, data: ServerEvents[K]): void {
    (this.ns.emit as (event: K, data: ServerEvents[K]) => boolean)(event, data);
  }

  private wire(socket: Socket<ClientToServer, ServerToClient>): void {
    socket.onAny((event: string, data: unknown) => {
      this.received.push({ sid: socket.id, event, data });
      if (event === "start") this.onStart(socket, (data ?? {}) as { session_id?: number; persona_id?: number; avatar_id?: string });
    });
  }

  private onStart(socket: Socket<ClientToServer, ServerToClient>, msg: { session_id?: number; persona_id?: number; avatar_id?: string }): void {
    if ((this.options.busyStarts ?? 0) > 0) {
      this.options.busyStarts! -= 1;
      const retry = this.options.busyRetryS ?? 30;
      socket.emit("error", { code: "busy", message: `Сервер занят. Попробуйте снова через ${retry} с.`, detail: "all slots taken", retry_after_s: retry });
      return;
    }
    const known = this.options.knownSessions;
    if (msg.session_id != null && known && !known.has(msg.session_id)) {
      socket.emit("error", { code: "not_found", message: "Разговор не найден.", detail: "session not found" });
      return;
    }
    const sessionId = msg.session_id ?? this.nextSession++;
    known?.add(sessionId);
    const fixture = loadStreamFixture();
    socket.emit("progress", { stage: "avatar", value: 0, message: "Подготовка аватара" });
    socket.emit("progress", { stage: "avatar", value: 1, message: "Аватар готов" });
    socket.emit("ready", {
      persona_id: msg.persona_id ?? 1,
      session_id: sessionId,
      avatar_id: msg.avatar_id ?? "0123456789abcdef",
      greeting: "Привет!",
      warnings: [],
      mime: fixture.mime,
      voice: null,
    });
    if (this.options.stream === false) return;
    for (const seg of fixture.segments.filter((s) => s.kind !== "speech").slice(0, 3)) {
      socket.emit(seg.kind === "init" ? "init" : "segment", segmentPayload(seg, fixture.mime));
    }
  }

  private rest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*" });
      res.end(JSON.stringify(body));
    };
    const messages = /^\/api\/sessions\/(\d+)\/messages$/.exec(url.pathname);
    if (messages) {
      this.received.push({ sid: "", event: `GET ${url.pathname}`, data: null });
      this.received.push({ sid: "", event: `GET ${url.pathname}${url.search}`, data: null });
      // like the server: oldest first, the page before `before` (a message id), `limit` long
      const all = ((this.options.messages?.[Number(messages[1])] ?? []) as { id: number }[]).slice().sort((a, b) => a.id - b.id);
      const before = Number(url.searchParams.get("before") ?? Infinity);
      const limit = Number(url.searchParams.get("limit") ?? 50);
      const earlier = all.filter((m) => m.id < before);
      const items = earlier.slice(Math.max(0, earlier.length - limit));
      send(200, { items, next_before: earlier.length > items.length ? items[0].id : null });
    } else if (url.pathname === "/api/personas") {
      send(200, this.options.personas ?? []);
    } else if (!url.pathname.startsWith("/socket.io")) {
      send(404, { error: { code: "not_found", message: "Не найдено." } });
    }
  }
}
