/** JSON bodies shaped like the server's answers, for the in-process test server. */
import type { Persona, UiSettings, VoiceFileReport, VoiceInfo, VoiceReport } from "../api/types";

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
    created_at: "2025-01-01T00:00:00",
    updated_at: "2025-01-01T00:00:00",
    ...overrides,
  };
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
    current_version: 1,
    versions: [1],
    usable_s: 38.2,
    prepared: false,
    report: null,
    similarity: null,
    ...overrides,
  };
}

export function uiSettings(overrides: Partial<UiSettings> = {}): UiSettings {
  return {
    engines: { asr: "faster_whisper", llm: "llama_cpp", emotion: "lexicon", tts: "festival", talking_head: "mesh_warp" },
    available: {
      asr: [
        { name: "faster_whisper", heavy: false, label_ru: "Whisper base (быстро, CPU)" },
        { name: "openai_whisper", heavy: true, label_ru: "Whisper large (точнее, нужна видеокарта)" },
      ],
      llm: [
        { name: "llama_cpp", heavy: false, label_ru: "Qwen2.5 1.5B (встроенная, CPU)" },
        { name: "ollama", heavy: true, label_ru: "Ollama (большие модели, свой сервер)" },
      ],
      emotion: [{ name: "lexicon", heavy: false, label_ru: "Словарь эмоций (CPU)" }],
      tts: [
        { name: "festival", heavy: false, label_ru: "Festival (встроенный голос)" },
        { name: "espeak", heavy: false, label_ru: "eSpeak NG (самый лёгкий)" },
        { name: "xtts", heavy: true, label_ru: "XTTS-v2 (клонирование голоса, видеокарта)" },
      ],
      talking_head: [
        { name: "mesh_warp", heavy: false, label_ru: "Лёгкая анимация лица (CPU)" },
        { name: "wav2lip", heavy: true, label_ru: "Wav2Lip (точные губы, видеокарта)" },
      ],
    },
    quality: "balanced",
    reloading: {},
    notices: [],
    ...overrides,
  };
}
