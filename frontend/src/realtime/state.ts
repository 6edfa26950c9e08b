/**
 * The conversation screen's state as a pure reducer of server events and local actions.
 *
 * Turn numbers restart at 1 whenever the server opens a new live session (every `ready`, e.g. after a
 * reconnect), so the assistant's history items are keyed by `epoch:turn`, where `epoch` counts `ready`s.
 */

import type {
  ErrorEvent,
  InterruptedEvent,
  ProgressEvent,
  ReadyEvent,
  ReplyEvent,
  Timings,
  TimingsEvent,
  TranscriptEvent,
  TurnEndEvent,
} from "./protocol";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";

export interface HistoryItem {
  key: string;
  role: "user" | "assistant";
  text: string;
  emotion?: string | null;
  timings?: Timings | null;
  /** Reply chunks by index (assistant items of this screen only). */
  parts?: string[];
  /** The reply is still streaming. */
  pending?: boolean;
  interrupted?: boolean;
  failed?: boolean;
}

/** A message of GET /api/sessions/{id}/messages. */
export interface StoredMessage {
  id: number;
  role: string;
  text: string;
  emotion?: string | null;
  timings?: Timings | null;
  created_at?: string;
}

export interface ConversationState {
  connection: ConnectionState;
  ready: ReadyEvent | null;
  /** Set when `ready` arrived on the current connection; audio and text may be sent. */
  live: boolean;
  epoch: number;
  sessionId: number | null;
  history: HistoryItem[];
  historyLoadedFor: number | null;
  /** `before` for the page of older messages (GET …/messages?before=), null when there are none. */
  historyBefore: number | null;
  transcript: { text: string; final: boolean } | null;
  listening: boolean;
  emotion: string | null;
  /** The user's question was heard (or typed) and the avatar has not started speaking its reply yet. */
  thinking: boolean;
  /** The turn being answered (on the current epoch), null when idle. */
  activeTurn: number | null;
  timings: Timings | null;
  timingsTurn: number | null;
  progress: ProgressEvent | null;
  error: ErrorEvent | null;
  warnings: string[];
  userCount: number;
  /** The user went on speaking before the reply was heard: the next transcript goes on their last question. */
  continuing: boolean;
}

export type ConversationAction =
  | { type: "connection"; state: ConnectionState }
  | { type: "ready"; data: ReadyEvent }
  | { type: "history"; sessionId: number; items: StoredMessage[]; nextBefore?: number | null }
  | { type: "history_older"; sessionId: number; items: StoredMessage[]; nextBefore: number | null }
  /** The player shows the reply's speech (the "thinking" pause is over). */
  | { type: "speech_shown" }
  | { type: "progress"; data: ProgressEvent }
  | { type: "speech_start" }
  | { type: "transcript"; data: TranscriptEvent }
  | { type: "reply"; data: ReplyEvent }
  | { type: "timings"; data: TimingsEvent }
  | { type: "turn_end"; data: TurnEndEvent }
  | { type: "interrupted"; data: InterruptedEvent }
  | { type: "error"; data: ErrorEvent }
  | { type: "user_text"; text: string }
  | { type: "dismiss_error" };

export const initialConversationState: ConversationState = {
  connection: "connecting",
  ready: null,
  live: false,
  epoch: 0,
  sessionId: null,
  history: [],
  historyLoadedFor: null,
  historyBefore: null,
  thinking: false,
  continuing: false,
  transcript: null,
  listening: false,
  emotion: null,
  activeTurn: null,
  timings: null,
  timingsTurn: null,
  progress: null,
  error: null,
  warnings: [],
  userCount: 0,
};

function turnKey(epoch: number, turn: number): string {
  return `t${epoch}:${turn}`;
}

function updateItem(history: HistoryItem[], key: string, change: (item: HistoryItem) => HistoryItem): HistoryItem[] {
  return history.map((item) => (item.key === key ? change(item) : item));
}

function addUser(state: ConversationState, text: string): ConversationState {
  const n = state.userCount + 1;
  return {
    ...state,
    userCount: n,
    history: [...state.history, { key: `u${n}`, role: "user", text }],
  };
}

function continueUser(state: ConversationState, more: string): ConversationState {
  const at = state.history.map((h) => h.role).lastIndexOf("user");
  if (at < 0) return more ? addUser(state, more) : state;
  if (!more) return state;
  const history = [...state.history];
  history[at] = { ...history[at], text: `${history[at].text} ${more}` };
  return { ...state, history };
}

function stopPending(history: HistoryItem[]): HistoryItem[] {
  return history.map((item) => (item.pending ? { ...item, pending: false, interrupted: true } : item));
}

const STALE_WHEN_READY = new Set(["not_found", "connect_failed", "busy"]);
/** Errors about reaching the server: over as soon as the socket is connected again. */
const STALE_WHEN_CONNECTED = new Set(["connect_failed"]);

function storedItems(items: StoredMessage[]): HistoryItem[] {
  return items
    .filter((m) => m.role === "user" || m.role === "assistant")
    .map((m) => ({
      key: `m${m.id}`,
      role: m.role as "user" | "assistant",
      text: m.text,
      emotion: m.emotion ?? null,
      timings: m.timings ?? null,
    }));
}

export function conversationReducer(state: ConversationState, action: ConversationAction): ConversationState {
  switch (action.type) {
    case "connection": {
      const live = action.state === "connected" ? state.live : false;
      const lost = action.state !== "connected" && state.connection === "connected";
      return {
        ...state,
        connection: action.state,
        live,
        // a turn in flight is lost with the connection (the server's live session is gone)
        history: lost ? stopPending(state.history) : state.history,
        activeTurn: lost ? null : state.activeTurn,
        listening: lost ? false : state.listening,
        thinking: lost ? false : state.thinking,
        error: action.state === "connected" && state.error && STALE_WHEN_CONNECTED.has(state.error.code) ? null : state.error,
      };
    }
    case "ready":
      return {
        ...state,
        ready: action.data,
        live: true,
        connection: "connected",
        epoch: state.epoch + 1,
        sessionId: action.data.session_id,
        warnings: action.data.warnings ?? [],
        activeTurn: null,
        // errors about getting a conversation (connection lost, server busy) are over once it is ready
        error: state.error && STALE_WHEN_READY.has(state.error.code) ? null : state.error,
      };
    case "history": {
      if (state.historyLoadedFor === action.sessionId) return state;
      const known = new Set(state.history.map((h) => `${h.role}\u0000${h.text}`));
      const loaded = storedItems(action.items).filter((m) => !known.has(`${m.role}\u0000${m.text}`));
      return { ...state, historyLoadedFor: action.sessionId, historyBefore: action.nextBefore ?? null, history: [...loaded, ...state.history] };
    }
    case "history_older": {
      if (state.historyLoadedFor !== action.sessionId) return state;
      const keys = new Set(state.history.map((h) => h.key));
      const older = storedItems(action.items).filter((m) => !keys.has(m.key));
      return { ...state, historyBefore: action.nextBefore, history: [...older, ...state.history] };
    }
    case "speech_shown":
      return state.thinking ? { ...state, thinking: false } : state;
    case "progress":
      return { ...state, progress: action.data };
    case "speech_start":
      return { ...state, listening: true, thinking: false, transcript: { text: "", final: false } };
    case "transcript": {
      const text = action.data.text ?? "";
      const next = { ...state, transcript: { text, final: action.data.final } };
      if (!action.data.final) return next;
      next.listening = false;
      if (state.continuing) return continueUser({ ...next, thinking: true, continuing: false }, text.trim());
      return text.trim() ? addUser({ ...next, thinking: true }, text.trim()) : next;
    }
    case "user_text":
      return addUser({ ...state, transcript: null, thinking: true, continuing: false }, action.text);
    case "reply": {
      const { turn, index, text, emotion } = action.data;
      const key = turnKey(state.epoch, turn);
      const existing = state.history.find((h) => h.key === key);
      let history: HistoryItem[];
      if (existing) {
        history = updateItem(state.history, key, (item) => {
          const parts = [...(item.parts ?? [])];
          parts[index] = text;
          return { ...item, parts, text: parts.join("").trim(), emotion: emotion || item.emotion };
        });
      } else {
        const parts: string[] = [];
        parts[index] = text;
        // a new turn supersedes the previous one (the server interrupts it)
        const settled = state.history.map((h) => (h.pending ? { ...h, pending: false } : h));
        history = [
          ...settled,
          { key, role: "assistant", text: parts.join("").trim(), emotion, parts, pending: true },
        ];
      }
      return { ...state, history, emotion: emotion || state.emotion, activeTurn: turn };
    }
    case "timings": {
      const { turn, ...timings } = action.data;
      return { ...state, timings, timingsTurn: turn };
    }
    case "turn_end": {
      const { turn, reason, timings } = action.data;
      const key = turnKey(state.epoch, turn);
      // a reply that failed, or had nothing to say, will never be spoken
      const silent = reason === "error" || !state.history.some((h) => h.key === key && h.text);
      return {
        ...state,
        thinking: silent ? false : state.thinking,
        history: updateItem(state.history, key, (item) => ({
          ...item,
          pending: false,
          failed: reason === "error",
          timings,
        })),
        timings: { ...(state.timingsTurn === turn ? state.timings : {}), ...timings },
        timingsTurn: turn,
        activeTurn: state.activeTurn === turn ? null : state.activeTurn,
      };
    }
    case "interrupted": {
      const key = turnKey(state.epoch, action.data.turn);
      if (action.data.reason === "continued") {
        // the question was taken as finished too early: its unheard reply goes, the rest of it follows
        return {
          ...state,
          history: state.history.filter((h) => h.key !== key),
          activeTurn: state.activeTurn === action.data.turn ? null : state.activeTurn,
          continuing: true,
        };
      }
      return {
        ...state,
        history: updateItem(state.history, key, (item) => ({ ...item, pending: false, interrupted: true })),
        activeTurn: state.activeTurn === action.data.turn ? null : state.activeTurn,
        // a new question interrupts the old reply: its own answer is still being thought of
        thinking: action.data.reason === "new_turn" ? state.thinking : false,
      };
    }
    case "error":
      // a refused question (rate limit, bad input) gets no reply
      return { ...state, error: action.data, thinking: false };
    case "dismiss_error":
      return { ...state, error: null };
  }
}
