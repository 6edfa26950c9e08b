/**
 * Shapes of the REST API: names for the types generated from the server's OpenAPI schema
 * (openapi.gen.ts, made by scripts/gen_types.py: `npm run gen:types`), plus the few client-side
 * types that are no JSON body (multipart requests, render outcomes, the UI's stage list).
 */
import type { components } from "./openapi.gen";

type Schemas = components["schemas"];

/** Error body of every failed API call: `{"error": {code, message, detail}}`; a refused voice upload adds `report`. */
export type ApiErrorBody = Schemas["ErrorBody"] & { report?: VoiceReport };

// ---- health ------------------------------------------------------------------------------------

export type Health = Schemas["Health"];

// ---- avatars -----------------------------------------------------------------------------------

export type AvatarCreated = Schemas["AvatarCreated"];

// ---- personas ----------------------------------------------------------------------------------

/** The genders the wizard offers (the server stores any string). */
export type Gender = "female" | "male";
export type PersonaIn = Schemas["PersonaIn"];
export type PersonaPatch = Schemas["PersonaPatch"];
export type Persona = Schemas["PersonaOut"];
export type SessionInfo = Schemas["SessionOut"];
export type Message = Schemas["MessageOut"];
export type MessagesPage = Schemas["MessagesPage"];
export type Fact = Schemas["FactOut"];

/**
 * `GET /api/personas/{id}/warmup`: the background job that computes the persona's prompt state
 * (started when a persona is created or its character changes); polled while queued or running.
 */
export type PersonaWarmup = Schemas["PersonaWarmup"];

// ---- voices ------------------------------------------------------------------------------------

export type VoiceLevel = VoiceReport["level"];
export type VoiceFileReport = Schemas["VoiceFileReport"];
export type VoiceReport = Schemas["VoiceReport"];
export type VoiceSimilarity = Schemas["VoiceSimilarity"];
export type VoiceInfo = Schemas["VoiceInfo"];

/** The result of a voice enrolment job (`POST /api/voices`, `.../samples`). */
export interface VoiceUploadResult {
  voice: VoiceInfo;
  report: VoiceReport;
}

/**
 * A standard voice ranked by a voice preparation: cosine similarities (0..1) of its speech to the
 * samples, once matched towards them («подстройка голоса») and as it is.
 */
export interface StandardVoiceScore {
  name: string;
  label: string;
  gender: Gender;
  matched: number;
  unmatched: number;
}

/** The result of a voice preparation job (`POST /api/voices/{id}/prepare`). */
export interface VoicePrepareResult {
  mode?: string;
  /** The similarity of the base voice (with `base_voice` and `standard_voices` too). */
  similarity?: VoiceSimilarity | null;
  /** The standard voice that, once matched, comes closest to the samples (null: the engine has none). */
  base_voice?: string | null;
  /** The standard voices, best first. */
  standard_voices?: StandardVoiceScore[];
  profile?: unknown;
  [key: string]: unknown;
}

/** A training job's progress (`Job.details`): stage, and while training the epoch, step, loss and seconds left. */
export type TrainingProgress = Schemas["TrainingProgress"];
/** `/api/health` `training`: whether this server can fine-tune voices, and why not. */
export type TrainingCapability = Schemas["TrainingCapability"];

/** The result of a voice training job: whether the trained version became the voice, and the validation. */
export interface VoiceTrainResult {
  used: boolean;
  /** The new voice version (null: the trained model was not better and was not used). */
  version: number | null;
  /** Russian, one sentence: the verdict with its numbers. */
  message: string;
  validation?: {
    before: { similarity: number; wer: number };
    after: { similarity: number; wer: number };
    better: boolean;
  };
  [key: string]: unknown;
}

/** `GET /api/voices/{id}/train`: can it be trained here, the estimate, and the latest training job. */
export type VoiceTrainingStatus = Omit<Schemas["TrainingStatus"], "job"> & { job: Job<VoiceTrainResult> | null };

// ---- standard TTS voices -----------------------------------------------------------------------

/** A standard voice of the TTS engine: `name` is what a persona's `tts_voice` holds; `commercial: false` = non-commercial licence. */
export type StandardVoice = Schemas["TtsVoice"];
/** `GET /api/tts/voices`: the current engine's standard voices (none for engines without them), the default per gender. */
export type TtsVoices = Schemas["TtsVoices"];
/** `POST /api/tts/preview`: a sample of `voice` (null: the engine's voice) saying `text` (null: a stock phrase). */
export type TtsPreviewRequest = Schemas["TtsPreviewIn"];

// ---- jobs --------------------------------------------------------------------------------------

export type JobCreated = Schemas["JobCreated"];
export type JobStatusName = Schemas["Job"]["status"];

/** A job's status; `R` is the shape of its `result` (voice jobs; a render's video is at `result_url`). */
export type Job<R = unknown> = Omit<Schemas["Job"], "result" | "error"> & {
  result?: R | null;
  error?: ApiErrorBody | null;
};

// ---- render ------------------------------------------------------------------------------------

/** The multipart form of `POST /api/render`, with Blobs for the files. */
export interface RenderRequest {
  text?: string;
  audio?: Blob;
  photo?: Blob;
  avatar_id?: string | null;
  voice_id?: string | null;
  /** A standard voice of the TTS engine (an enrolled voice is matched on top of it). */
  tts_voice?: string | null;
  mode?: Schemas["Body_render_api_render_post"]["mode"];
}

/** A finished render: either the MP4 itself, or the URL of a job's result. */
export type RenderOutcome =
  | { kind: "video"; blob: Blob }
  | { kind: "job"; job: JobCreated };

// ---- settings ----------------------------------------------------------------------------------

/** GET /api/settings/llm-models: the embedded GGUF and those added with `avatar models add-llm`. */
export type LlmModels = Schemas["LlmModels"];
export type LlmModelChoice = Schemas["LlmModelChoice"];
export type UiSettings = Schemas["UiSettings"] & { options?: { tts?: TtsEngineOptions } };
/**
 * Options of the TTS engine that the settings page changes: RHVoice's `voice` (the voice of personas
 * without their own) and `allow_noncommercial_voices`. Not in the generated schema yet: the server's
 * `Choices` has to accept `options.tts` (and `UiSettings` report it) for these to be saved and shown.
 */
export interface TtsEngineOptions {
  voice?: string;
  allow_noncommercial_voices?: boolean;
}
export type UiSettingsUpdate = Schemas["Choices"] & { options?: { tts?: TtsEngineOptions } };
export type Quality = UiSettings["quality"];
export type EngineOption = Schemas["EngineOption"];
/** A switchable pipeline stage. */
export type Stage = keyof Schemas["StageEngines"];

/** Every stage, in the order of the pipeline (the settings page's order). */
export const STAGES = ["asr", "llm", "emotion", "tts", "talking_head", "enhance"] as const satisfies readonly Stage[];
// a stage the server adds must be listed above: this fails to compile until it is
type Listed<T extends never> = T;
export type UnlistedStages = Listed<Exclude<Stage, (typeof STAGES)[number]>>;
