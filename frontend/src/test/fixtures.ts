/** JSON bodies shaped like the server's answers, for the in-process test server. */
import type {
  EngineOption,
  Fact,
  Gender,
  Message,
  MessagesPage,
  Persona,
  PersonaWarmup,
  SessionInfo,
  StandardVoice,
  TtsVoices,
  UiSettings,
  VoiceFileReport,
  VoiceInfo,
  VoiceReport,
} from "../api/types";
import type { ErrorEvent, ReadyEvent, TimingsEvent, TranscriptEvent } from "../realtime/protocol";

export function persona(overrides: Partial<Persona> = {}): Persona {
  return {
    id: 1,
    name: "Аня",
    age: 25,
    gender: "female",
    temperament: "спокойная",
    interests: ["книги"],
    speech_style: "дружелюбно",
    greeting: "Привет! Я Аня.",
    notes: "",
    language: "ru",
    avatar_id: null,
    voice_id: null,
    tts_voice: null,
    created_at: "2025-01-01T00:00:00",
    updated_at: "2025-01-01T00:00:00",
    ...overrides,
  };
}

/** A conversation of `GET /api/personas/{id}/sessions`. */
export function sessionInfo(overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    id: 5,
    persona_id: 1,
    title: "Расскажи про книги",
    started_at: "2025-03-01T10:00:00",
    last_message_at: "2025-03-01T10:05:00",
    message_count: 4,
    ...overrides,
  };
}

/** A stored message (`role` "user" or "assistant"). */
export function message(id: number, text: string, overrides: Partial<Message> = {}): Message {
  return { id, session_id: 5, role: id % 2 ? "user" : "assistant", text, emotion: null, timings: null, created_at: "2025-03-01T10:00:00", ...overrides };
}

/** A page of `GET /api/sessions/{id}/messages`. */
export function messagesPage(items: Message[], next_before: number | null = null): MessagesPage {
  return { items, next_before };
}

/** A fact the persona learnt about the user. */
export function fact(key: string, value: string, overrides: Partial<Fact> = {}): Fact {
  return { key, value, updated_at: "2025-03-01T10:00:00", ...overrides };
}

/** `GET /api/personas/{id}/warmup` (ready unless told otherwise). */
export function warmup(overrides: Partial<PersonaWarmup> = {}): PersonaWarmup {
  const status = overrides.status ?? "ready";
  const messages: Record<PersonaWarmup["status"], string> = {
    queued: "Персонаж ждёт подготовки к быстрым ответам",
    running: "Готовлю персонажа к быстрым ответам",
    ready: "Персонаж готов отвечать сразу",
    failed: "Не удалось подготовить персонажа заранее: первый ответ будет медленнее",
  };
  return { status, progress: status === "ready" ? 1 : 0, message_ru: messages[status], seconds: status === "ready" ? 1.5 : null, ...overrides };
}

export function fileReport(overrides: Partial<VoiceFileReport> = {}): VoiceFileReport {
  return {
    name: "sample.wav",
    duration_s: 42.5,
    usable_s: 38.2,
    loudness_lufs: -21.4,
    peak_dbfs: -3.1,
    clipping_pct: 0,
    snr_db: 31.5,
    utterances: 9,
    accepted: true,
    problems: [],
    ...overrides,
  };
}

export function voiceReport(overrides: Partial<VoiceReport> = {}): VoiceReport {
  const files = overrides.files ?? [fileReport()];
  const usable = overrides.usable_s ?? files.reduce((sum, f) => sum + f.usable_s, 0);
  return {
    files,
    usable_s: usable,
    min_s: 30,
    target_s: 300,
    enough: usable >= 30,
    level: usable >= 300 ? "good" : usable >= 30 ? "enough" : "not_enough",
    ...overrides,
  };
}

export function voiceInfo(overrides: Partial<VoiceInfo> = {}): VoiceInfo {
  return {
    id: "v1",
    name: "Голос",
    created: 1735689600,
    current_version: 1,
    versions: [{ version: 1, created: 1735689600, source: "enroll", usable_s: 38.2 }],
    usable_s: 38.2,
    enough: true,
    utterances: 0,
    prepared: false,
    report: null,
    similarity: null,
    samples: [],
    ...overrides,
  };
}

/** A standard TTS voice (free unless `commercial` is false). */
export function standardVoice(name: string, label: string, gender: Gender, commercial = true, licence = commercial ? "GPL-2+" : "CC-BY-NC-ND-4.0"): StandardVoice {
  return { name, label, gender, licence, commercial };
}

/** `GET /api/tts/voices` of RHVoice with the non-commercial voices allowed. */
export function ttsVoices(overrides: Partial<TtsVoices> = {}): TtsVoices {
  return {
    engine: "rhvoice",
    voices: [
      standardVoice("anna", "Анна", "female"),
      standardVoice("elena", "Елена", "female", true, "GPL-3"),
      standardVoice("aleksandr", "Александр", "male"),
      standardVoice("arina", "Арина", "female", false),
      standardVoice("pavel", "Павел", "male", false),
    ],
    default: { female: "anna", male: "aleksandr" },
    allow_noncommercial: true,
    ...overrides,
  };
}

/** An engine of the settings page (usable unless `available: false` says otherwise). */
export function engine(name: string, label_ru: string, heavy = false, overrides: Partial<EngineOption> = {}): EngineOption {
  return { name, label_ru, heavy, available: true, reason_ru: null, ...overrides };
}

export function uiSettings(overrides: Partial<UiSettings> = {}): UiSettings {
  return {
    engines: { asr: "faster_whisper", llm: "llama_cpp", emotion: "lexicon", tts: "festival", talking_head: "mesh_warp", enhance: "none" },
    available: {
      asr: [engine("faster_whisper", "Whisper base (быстро, CPU)"), engine("openai_whisper", "Whisper large (точнее, нужна видеокарта)", true)],
      llm: [engine("llama_cpp", "Qwen2.5-Coder-1.5B-Instruct (встроенная, CPU)"), engine("ollama", "Ollama (большие модели, свой сервер)", true)],
      emotion: [engine("lexicon", "Словарь эмоций (CPU)")],
      tts: [
        engine("festival", "Festival (встроенный голос)"),
        engine("espeak", "eSpeak NG (самый лёгкий)"),
        engine("xtts", "XTTS-v2 (клонирование голоса, видеокарта)", true),
      ],
      talking_head: [engine("mesh_warp", "Лёгкая анимация лица (CPU)"), engine("wav2lip", "Wav2Lip (точные губы, видеокарта)", true)],
      enhance: [
        engine("none", "Без улучшения (быстрее всего)"),
        engine("realesrgan_ncnn", "Real-ESRGAN (ncnn; быстрая модель работает и на CPU)"),
        engine("gfpgan", "GFPGAN (восстановление лица, видеокарта)", true, { available: false, reason_ru: "нет весов GFPGAN" }),
      ],
    },
    quality: "balanced",
    reloading: {},
    notices: [],
    ...overrides,
  };
}

// ---- conversation events (as backend/realtime/events.py sends them) ----------------------------

export function readyEvent(overrides: Partial<ReadyEvent> = {}): ReadyEvent {
  return { persona_id: 1, session_id: 5, avatar_id: "0123456789abcdef", greeting: "Привет!", warnings: [], mime: "video/mp4", voice: null, ...overrides };
}

export function transcriptEvent(text: string, final: boolean): TranscriptEvent {
  return { text, final, language: "ru", audio_duration_s: 1.2, processing_s: 0.1, segments: [] };
}

export function errorEvent(code: string, message: string, extra: Partial<ErrorEvent> = {}): ErrorEvent {
  return { code, message, detail: message, ...extra };
}

export function timingsEvent(turn: number, timings: Record<string, number>): TimingsEvent {
  return { turn, queued_before_first_segment_s: 0, ...timings };
}
