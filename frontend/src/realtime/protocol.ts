/**
 * The "/conversation" Socket.IO namespace. The event payloads are generated from the server's
 * pydantic models (backend/realtime/events.py -> events.gen.ts, `npm run gen:types`); what is here
 * is client-side only.
 */

export type {
  ClientEvents,
  ConnectRefused,
  ErrorEvent,
  InterruptedEvent,
  MediaEvent,
  ProgressEvent,
  ReadyEvent,
  ReplyEvent,
  ServerEvents,
  SpeechStartEvent,
  StartMessage,
  TextMessage,
  TimingsEvent,
  TranscriptEvent,
  TurnEndEvent,
} from "./events.gen";

import type { ClientEvents, ServerEvents } from "./events.gen";

export const NAMESPACE = "/conversation";

/** Socket.IO's event maps (`Socket<ServerToClient, ClientToServer>`): one handler per event, `null` = no argument. */
type Handlers<E> = { [K in keyof E]: E[K] extends null ? () => void : (data: E[K]) => void };
export type ServerToClient = Handlers<ServerEvents>;
export type ClientToServer = Handlers<ClientEvents>;

/** Binary payloads arrive as ArrayBuffer in browsers and as Buffer (a Uint8Array) in Node. */
export type Binary = ArrayBuffer | ArrayBufferView;

/** StageTimer.as_dict(): `<stage>_s` seconds and `<milestone>_s` since the turn started. */
export type Timings = Record<string, number>;

export function toBytes(data: Binary): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
