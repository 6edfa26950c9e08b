/**
 * The "/conversation" Socket.IO events, generated from backend/realtime/events.py by scripts/gen_types.py.
 * Do not edit: change the pydantic models and run `npm run gen:types`.
 */

import type { Binary } from "./protocol";

/**
 * Both directions of the conversation namespace, and the data of a refused connection (the same for the jobs namespace); the jobs namespace's events under jobs_server and jobs_client.
 */
export interface ConversationProtocol {
  server: ServerEvents;
  client: ClientEvents;
  refused: ConnectRefused;
  jobs_server: JobsServerEvents;
  jobs_client: JobsClientEvents;
}
/**
 * Server -> client: event name -> payload.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "ServerEvents".
 */
export interface ServerEvents {
  ready: ReadyEvent;
  progress: ProgressEvent;
  init: MediaEvent;
  segment: MediaEvent;
  speech_start: SpeechStartEvent;
  transcript: TranscriptEvent;
  reply: ReplyEvent;
  timings: TimingsEvent;
  turn_end: TurnEndEvent;
  interrupted: InterruptedEvent;
  error: ErrorEvent;
}
/**
 * The conversation is open: audio and text may be sent. Sent on every ``start`` (so after a reconnect).
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "ReadyEvent".
 */
export interface ReadyEvent {
  persona_id: number;
  session_id: number;
  avatar_id: string;
  greeting: string;
  warnings: string[];
  /**
   * MediaSource type of the stream, e.g. video/mp4; codecs="avc1.42C01E, mp4a.40.2"
   */
  mime: string;
  /**
   * The persona's enrolled voice (null: the engine's own voice)
   */
  voice: string | null;
  /**
   * The standard TTS voice the persona speaks (enrolled voices are matched on top of it); null: the engine has no voices to pick from
   */
  tts_voice?: string | null;
}
/**
 * Preparation before ``ready``: the avatar, then the persona's voice (0..1).
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "ProgressEvent".
 */
export interface ProgressEvent {
  stage: "avatar" | "voice";
  value: number;
  message: string;
}
/**
 * ``init`` (kind init, t 0) and ``segment`` (kind idle | speech): one fragmented-MP4 piece on the
 * stream's single timeline. ``data`` travels as binary.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "MediaEvent".
 */
export interface MediaEvent {
  data: Binary;
  mime: string;
  kind: "init" | "idle" | "speech";
  /**
   * the turn the speech belongs to (0 for idle and init)
   */
  turn: number;
  /**
   * start of the segment on the stream's timeline (tfdt of its first frame)
   */
  t: number;
  duration: number;
  index: number;
  /**
   * speech: the reply chunk (``reply`` event index) it says
   */
  chunk?: number | null;
}
/**
 * The user started speaking (voice activity), at ``at_s`` of the current recording.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "SpeechStartEvent".
 */
export interface SpeechStartEvent {
  at_s: number;
}
/**
 * What the recogniser heard: partial (``final`` false) while the user speaks, then the final text.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "TranscriptEvent".
 */
export interface TranscriptEvent {
  text: string;
  language: string;
  final: boolean;
  audio_duration_s: number;
  processing_s: number;
  segments: TranscriptSegment[];
}
/**
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "TranscriptSegment".
 */
export interface TranscriptSegment {
  text: string;
  start: number;
  end: number;
}
/**
 * One chunk of the reply's text (``index`` from 0), with the emotion the avatar shows.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "ReplyEvent".
 */
export interface ReplyEvent {
  turn: number;
  index: number;
  text: string;
  emotion: string;
}
/**
 * The first speech segment of ``turn`` left: the turn's timings so far (StageTimer.as_dict():
 * ``<stage>_s`` seconds and ``<milestone>_s`` since the turn started, ``total_s``).
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "TimingsEvent".
 */
export interface TimingsEvent {
  turn: number;
  /**
   * video already sent but not yet played then
   */
  queued_before_first_segment_s: number;
  [k: string]: number;
}
/**
 * The turn is over (its last segment was sent, or it failed); an interrupted turn gets ``interrupted``.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "TurnEndEvent".
 */
export interface TurnEndEvent {
  turn: number;
  reason: "done" | "error";
  timings: {
    [k: string]: number;
  };
}
/**
 * The turn was cut short: queued speech is dropped, idle video continues from ``media_time``.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "InterruptedEvent".
 */
export interface InterruptedEvent {
  turn: number;
  reason: "barge_in" | "new_turn" | "stop" | "continued";
  /**
   * where the stream's timeline stood (0 where a render worker owns it)
   */
  media_time: number;
}
/**
 * Something went wrong; the connection stays open. ``message`` is Russian (for the user), ``detail`` English.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "ErrorEvent".
 */
export interface ErrorEvent {
  code: string;
  message: string;
  detail: string;
  /**
   * busy, rate_limited: seconds to wait before trying again
   */
  retry_after_s?: number | null;
}
/**
 * Client -> server: event name -> its one argument (null: none).
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "ClientEvents".
 */
export interface ClientEvents {
  start: StartMessage;
  audio: Binary;
  audio_end: null;
  text: TextMessage;
  stop: null;
}
/**
 * Open a conversation: which persona, which session to continue, how audio will arrive.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "StartMessage".
 */
export interface StartMessage {
  persona_id?: number | null;
  session_id?: number | null;
  avatar_id?: string | null;
  audio_format?: "webm" | "ogg" | "pcm16";
  sample_rate?: number;
  greet?: boolean;
}
/**
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "TextMessage".
 */
export interface TextMessage {
  text: string;
}
/**
 * The data of a refused connection (the client's ``connect_error``), e.g. a missing token.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "ConnectRefused".
 */
export interface ConnectRefused {
  code: "unauthorized";
  message: string;
}
/**
 * The jobs namespace, server -> client: event name -> payload.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "JobsServerEvents".
 */
export interface JobsServerEvents {
  job: JobEvent;
  error: JobErrorEvent;
}
/**
 * A background job's state, the same as its REST status (``GET /api/jobs/{id}``): sent at once on
 * ``watch``, then on every change - each status, and progress at most a few times a second.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "JobEvent".
 */
export interface JobEvent {
  id: string;
  status: "queued" | "running" | "done" | "error";
  /**
   * 0..1
   */
  progress: number;
  message: string;
  created: number;
  error: ErrorBody | null;
  timings: {
    [k: string]: number;
  } | null;
  warnings: string[];
  /**
   * render | voice | voice_enroll | voice_train
   */
  kind: string;
  result: {
    [k: string]: unknown;
  } | null;
  result_url?: string | null;
  details?: TrainingProgress | null;
}
/**
 * ``error`` of every failed call: ``{"error": {code, message (ru), detail (en)}}``; a refused voice
 * upload adds its quality ``report``.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "ErrorBody".
 */
export interface ErrorBody {
  code: string;
  /**
   * Russian, shown to the user
   */
  message: string;
  /**
   * English, for logs
   */
  detail?: string | null;
  [k: string]: unknown;
}
/**
 * A training job's progress: ``stage`` and ``fraction`` (of the stage), and while training the
 * epoch (1-based) of ``epochs``, the optimiser ``step`` of ``steps``, the running loss and the seconds left.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "TrainingProgress".
 */
export interface TrainingProgress {
  stage: "waiting" | "dataset" | "training" | "export" | "validation";
  fraction: number;
  message: string;
  epoch?: number | null;
  epochs?: number | null;
  step?: number | null;
  steps?: number | null;
  loss?: number | null;
  eta_s?: number | null;
  /**
   * true while a conversation has the training's GPU memory
   */
  paused?: boolean | null;
  [k: string]: unknown;
}
/**
 * An ``error`` of the jobs namespace; ``job_id`` names the job it is about (e.g. job_not_found).
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "JobErrorEvent".
 */
export interface JobErrorEvent {
  code: string;
  message: string;
  detail: string;
  /**
   * busy, rate_limited: seconds to wait before trying again
   */
  retry_after_s?: number | null;
  job_id?: string | null;
}
/**
 * The jobs namespace, client -> server: event name -> its argument.
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "JobsClientEvents".
 */
export interface JobsClientEvents {
  watch: WatchMessage;
  unwatch: WatchMessage;
}
/**
 * ``watch`` / ``unwatch``: which job (the ``job_id`` a job-starting call answered with).
 *
 * This interface was referenced by `ConversationProtocol`'s JSON-Schema
 * via the `definition` "WatchMessage".
 */
export interface WatchMessage {
  job_id: string;
}
