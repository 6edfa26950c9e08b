/**
 * The conversation socket: connects to the "/conversation" namespace, (re)starts the live session on
 * every (re)connection, continuing the same session_id, and turns server events into
 * ConversationActions (for the screen's state) and media events (for the player).
 */

import type { Socket } from "socket.io-client";
import { openSocket, type SocketOptions } from "./socket";
import {
  NAMESPACE,
  type ClientToServer,
  type ErrorEvent,
  type InterruptedEvent,
  type MediaEvent,
  type ReadyEvent,
  type ServerToClient,
  type StartMessage,
} from "./protocol";
import type { ConnectionState, ConversationAction } from "./state";

export interface ConversationClientOptions extends SocketOptions {
  personaId?: number | null;
  avatarId?: string | null;
  /** A session to continue (null: the server opens a new one). */
  sessionId?: number | null;
  /** Ask for the persona's greeting on the first start. */
  greet?: boolean;
  audioFormat?: StartMessage["audio_format"];
  /** For `audioFormat` "pcm16": the samples' rate. */
  sampleRate?: number;
  /**
   * Connect, but send `start` only after begin() (the lobby: the greeting must not play before a
   * click has allowed sound). Default false: `start` on every connection.
   */
  holdStart?: boolean;
}

export interface ConversationClientEvents {
  action: (action: ConversationAction) => void;
  media: (event: MediaEvent) => void;
  ready: (event: ReadyEvent) => void;
  interrupted: (event: InterruptedEvent) => void;
  /** The live session is gone (connection lost): recordings must stop without audio_end. */
  lost: () => void;
}

type Listeners = { [K in keyof ConversationClientEvents]: Set<ConversationClientEvents[K]> };

const CONNECT_FAILED = "Нет связи с сервером. Переподключаемся…";

export class ConversationClient {
  readonly socket: Socket<ServerToClient, ClientToServer>;
  private readonly listeners: Listeners = { action: new Set(), media: new Set(), ready: new Set(), interrupted: new Set(), lost: new Set() };
  private sessionId: number | null;
  private greetPending: boolean;
  private everConnected = false;
  private live = false;
  private starting = false;
  private closed = false;
  private begun: boolean;
  private retryTimer: ReturnType<typeof setTimeout> | null = null; // a `start` refused as busy, asked again
  /** How many `start`s were sent (for tests and logs). */
  starts: StartMessage[] = [];

  private readonly options: ConversationClientOptions;

  constructor(options: ConversationClientOptions = {}) {
    this.options = { ...options };
    this.sessionId = options.sessionId ?? null;
    this.greetPending = options.greet ?? false;
    this.begun = !options.holdStart;
    this.socket = openSocket<ServerToClient, ClientToServer>(NAMESPACE, options, { first: 500, max: 5000 });
    this.wire();
  }

  on<K extends keyof ConversationClientEvents>(event: K, listener: ConversationClientEvents[K]): () => void {
    (this.listeners[event] as Set<ConversationClientEvents[K]>).add(listener);
    return () => (this.listeners[event] as Set<ConversationClientEvents[K]>).delete(listener);
  }

  /** Open the connection (a closed client stays closed: make a new one). */
  connect(): void {
    if (this.closed || this.socket.active) return;
    this.setConnection(this.everConnected ? "reconnecting" : "connecting");
    this.socket.connect();
  }

  /**
   * Start the conversation (with holdStart): `start` goes out now if connected, else on connect.
   * `audio` overrides the announced recording format (known once the microphone was chosen).
   */
  begin(audio?: { audioFormat: NonNullable<StartMessage["audio_format"]>; sampleRate?: number }): void {
    if (audio) {
      this.options.audioFormat = audio.audioFormat;
      this.options.sampleRate = audio.sampleRate;
    }
    if (this.begun) return;
    this.begun = true;
    if (this.socket.connected && !this.live && !this.starting && !this.closed) this.sendStart();
  }

  /** Whether `start` was allowed (begin() called, or no holdStart). */
  get started(): boolean {
    return this.begun;
  }

  close(): void {
    this.closed = true;
    this.live = false;
    this.cancelRetry();
    this.socket.disconnect();
    this.socket.removeAllListeners();
  }

  /** True once `ready` arrived on the current connection: audio and text may be sent. */
  get isLive(): boolean {
    return this.live && this.socket.connected;
  }

  get currentSessionId(): number | null {
    return this.sessionId;
  }

  /** One chunk of the current recording; dropped when not live (never buffered across a reconnect). */
  sendAudio(chunk: ArrayBuffer | Uint8Array): boolean {
    if (!this.isLive) return false;
    this.socket.emit("audio", chunk);
    return true;
  }

  audioEnd(): boolean {
    if (!this.isLive) return false;
    this.socket.emit("audio_end");
    return true;
  }

  sendText(text: string): boolean {
    const trimmed = text.trim();
    if (!trimmed || !this.isLive) return false;
    this.socket.emit("text", { text: trimmed });
    this.dispatch({ type: "user_text", text: trimmed });
    return true;
  }

  /** Barge-in: the avatar stops talking, idle video continues. */
  stop(): boolean {
    if (!this.isLive) return false;
    this.socket.emit("stop");
    return true;
  }

  private emitTo<K extends keyof ConversationClientEvents>(event: K, ...args: Parameters<ConversationClientEvents[K]>): void {
    for (const listener of this.listeners[event]) (listener as (...a: unknown[]) => void)(...args);
  }

  private dispatch(action: ConversationAction): void {
    this.emitTo("action", action);
  }

  private setConnection(state: ConnectionState): void {
    this.dispatch({ type: "connection", state });
  }

  private cancelRetry(): void {
    if (this.retryTimer != null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private sendStart(): void {
    const { personaId, avatarId, audioFormat, sampleRate } = this.options;
    const msg: StartMessage = { audio_format: audioFormat ?? "webm" };
    if (msg.audio_format === "pcm16" && sampleRate) msg.sample_rate = sampleRate;
    if (personaId != null) msg.persona_id = personaId;
    if (avatarId) msg.avatar_id = avatarId;
    if (this.sessionId != null) msg.session_id = this.sessionId;
    if (this.greetPending) msg.greet = true;
    this.starting = true;
    this.starts.push(msg);
    this.socket.emit("start", msg);
  }

  private wire(): void {
    const s = this.socket;
    s.on("connect", () => {
      this.everConnected = true;
      this.live = false;
      this.setConnection("connected");
      if (this.begun) this.sendStart();
    });
    s.on("disconnect", (reason) => {
      this.cancelRetry();
      const wasLive = this.live;
      this.live = false;
      this.starting = false;
      if (wasLive) this.emitTo("lost");
      if (this.closed || reason === "io client disconnect") {
        this.setConnection("disconnected");
        return;
      }
      this.setConnection("reconnecting");
      if (reason === "io server disconnect") s.connect(); // the server hung up: socket.io does not retry by itself
    });
    s.on("connect_error", (error: Error & { data?: { code?: string; message?: string } }) => {
      if (!s.active) {
        // refused by the server (e.g. a wrong token): retrying will not help
        this.setConnection("disconnected");
        this.dispatch({
          type: "error",
          data: { code: error.data?.code ?? "connect_refused", message: error.data?.message ?? "Сервер отказал в подключении.", detail: error.message },
        });
        return;
      }
      this.setConnection(this.everConnected ? "reconnecting" : "connecting");
      this.dispatch({ type: "error", data: { code: "connect_failed", message: CONNECT_FAILED, detail: error.message } });
    });

    s.on("ready", (data: ReadyEvent) => {
      this.live = true;
      this.starting = false;
      this.greetPending = false;
      this.sessionId = data.session_id;
      this.dispatch({ type: "ready", data });
      this.emitTo("ready", data);
    });
    s.on("init", (data: MediaEvent) => this.emitTo("media", { ...data, kind: "init" }));
    s.on("segment", (data: MediaEvent) => this.emitTo("media", data));
    s.on("progress", (data) => this.dispatch({ type: "progress", data }));
    s.on("speech_start", () => this.dispatch({ type: "speech_start" }));
    s.on("transcript", (data) => this.dispatch({ type: "transcript", data }));
    s.on("reply", (data) => this.dispatch({ type: "reply", data }));
    s.on("timings", (data) => this.dispatch({ type: "timings", data }));
    s.on("turn_end", (data) => this.dispatch({ type: "turn_end", data }));
    s.on("interrupted", (data: InterruptedEvent) => {
      this.dispatch({ type: "interrupted", data });
      this.emitTo("interrupted", data);
    });
    s.on("error", (data: ErrorEvent) => {
      if (this.starting && !this.live && this.sessionId != null && data?.code === "not_found") {
        // the session to continue was deleted: start a new one
        this.sessionId = null;
        this.sendStart();
        return;
      }
      if (this.starting && !this.live) this.starting = false;
      if (data?.code === "busy" && !this.live) {
        // every conversation slot on the server is taken: ask again when it says to
        const seconds = Math.max(1, data.retry_after_s ?? 30);
        this.dispatch({ type: "error", data: { ...data, message: `${data.message} Подключимся автоматически.` } });
        this.cancelRetry();
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          if (!this.closed && this.begun && this.socket.connected && !this.live && !this.starting) {
            this.dispatch({ type: "dismiss_error" });
            this.sendStart();
          }
        }, seconds * 1000);
        return;
      }
      this.dispatch({ type: "error", data });
    });
  }
}
