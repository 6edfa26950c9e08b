/**
 * Shapes of the REST API (see /api/docs on the server and notes/frontend.md).
 * Field names follow the server's JSON exactly.
 */

export type Stage = "asr" | "llm" | "emotion" | "tts" | "talking_head";
export const STAGES: readonly Stage[] = ["asr", "llm", "emotion", "tts", "talking_head"];

/** Error body of every failed API call: `{"error": {code, message, detail}}`. */
export interface ApiErrorBody {
  code: string;
  /** Russian, shown to the user. */
  message: string;
  /** English, for logs. */
  detail?: string;
  /** Voice uploads refused as a whole still carry their quality report. */
  report?: VoiceReport;
}

// ---- health ------------------------------------------------------------------------------------

export interface Health {
  status: "ok" | "loading" | string;
  version?: string;
  engines: Partial<Record<Stage, Record<string, unknown> | null>>;
  available_engines: Record<string, string[]>;
  notices: string[];
  devices?: { cpu?: string; gpu?: boolean } & Record<string, unknown>;
  models?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

// ---- avatars -----------------------------------------------------------------------------------

export interface AvatarCreated {
  avatar_id: string;
  warnings: string[];
  face_px: number;
  crop_url: string;
}

// ---- personas ----------------------------------------------------------------------------------

export type Gender = "female" | "male";

export interface PersonaIn {
  name: string;
  age: number;
  gender: Gender;
  temperament: string;
  interests: string[] | string;
  speech_style: string;
  greeting: string;
  notes: string;
  language?: string;
  avatar_id: string | null;
  voice_id: string | null;
}

export type PersonaPatch = Partial<PersonaIn>;

export interface Persona {
  id: number;
  name: string;
  age: number;
  gender: Gender | string;
  temperament: string;
  interests: string[];
  speech_style: string;
  greeting: string;
  notes: string;
  language: string;
  avatar_id: string | null;
  voice_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface SessionInfo {
  id: number;
  persona_id: number;
  title: string | null;
  started_at: string;
  last_message_at: string | null;
  message_count: number;
}

export type MessageRole = "user" | "assistant" | string;

export interface Message {
  id: number;
  session_id?: number;
  role: MessageRole;
  text: string;
  emotion: string | null;
  timings: Record<string, number> | null;
  created_at: string;
}

export interface MessagesPage {
  items: Message[];
  next_before: number | null;
}

export interface Fact {
  key: string;
  value: string;
  updated_at: string;
}

// ---- voices ------------------------------------------------------------------------------------

export type VoiceLevel = "not_enough" | "enough" | "good";

export interface VoiceFileReport {
  name: string;
  duration_s: number;
  usable_s: number;
  loudness_lufs: number | null;
  peak_dbfs: number | null;
  clipping_pct: number;
  snr_db: number | null;
  utterances: number;
  accepted: boolean;
  /** Russian descriptions of what is wrong with the file. */
  problems: string[];
}

export interface VoiceReport {
  files: VoiceFileReport[];
  usable_s: number;
  min_s: number;
  target_s: number;
  enough: boolean;
  level: VoiceLevel;
}

export interface VoiceSimilarity {
  matched: number;
  unmatched: number;
}

export interface VoiceInfo {
  id: string;
  name: string;
  current_version: number;
  versions: unknown[];
  usable_s: number;
  prepared: boolean;
  report?: VoiceReport | null;
  similarity?: VoiceSimilarity | null;
  created?: number;
  enough?: boolean;
  /** Number of prepared utterances (cut by voice activity). */
  utterances?: number;
  /** URLs of the prepared utterances (`/api/voices/{id}/samples/{n}.wav`). */
  samples?: string[];
}

export interface VoiceUploadResult {
  voice: VoiceInfo;
  report: VoiceReport;
}

// ---- jobs --------------------------------------------------------------------------------------

export type JobStatusName = "queued" | "running" | "done" | "error";

export interface JobCreated {
  job_id: string;
  status_url: string;
}

export interface Job<R = unknown> {
  id: string;
  status: JobStatusName;
  /** 0..1 */
  progress: number;
  message: string;
  error?: ApiErrorBody | null;
  result?: R;
  result_url?: string;
  warnings?: string[];
  timings?: Record<string, number> | null;
}

export interface VoicePrepareResult {
  mode?: string;
  similarity?: VoiceSimilarity | null;
  profile?: unknown;
  [key: string]: unknown;
}

// ---- render ------------------------------------------------------------------------------------

export interface RenderRequest {
  text?: string;
  audio?: Blob;
  photo?: Blob;
  avatar_id?: string | null;
  voice_id?: string | null;
  mode?: "auto" | "sync" | "job";
}

/** A finished render: either the MP4 itself, or the URL of a job's result. */
export type RenderOutcome =
  | { kind: "video"; blob: Blob }
  | { kind: "job"; job: JobCreated };

// ---- settings ----------------------------------------------------------------------------------

export type Quality = "speed" | "balanced" | "quality";

export interface EngineOption {
  name: string;
  heavy: boolean;
  label_ru: string;
  /** false when the engine cannot run here (missing package/weights/GPU); absent means usable. */
  available?: boolean;
  /** Russian reason shown when `available` is false. */
  reason_ru?: string;
}

export interface UiSettings {
  engines: Partial<Record<Stage | "enhance", string>>;
  available: Partial<Record<Stage | "enhance", EngineOption[]>>;
  quality: Quality;
  /** Stages being rebuilt in the background, progress 0..1. */
  reloading: Partial<Record<Stage | "enhance", number>>;
  notices?: string[];
}

export interface UiSettingsUpdate {
  engines?: Partial<Record<Stage, string>>;
  quality?: Quality;
}
