/** What each wizard step keeps, so that going back and forth or a failed request loses nothing. */
import type { AvatarCreated, Gender, StandardVoiceScore, VoiceFileReport, VoiceInfo, VoiceReport, VoiceSimilarity } from "../api/types";

export type StepId = "photo" | "voice" | "character" | "prepare" | "test";

export const STEPS: { id: StepId; title: string }[] = [
  { id: "photo", title: "Фото" },
  { id: "voice", title: "Голос" },
  { id: "character", title: "Характер" },
  { id: "prepare", title: "Подготовка голоса" },
  { id: "test", title: "Проверка" },
];

export interface PhotoState {
  /** The last picked or captured photo (kept for a retry). */
  file: Blob | null;
  /** Object URL of `file`, shown while the server checks it. */
  localUrl: string | null;
  avatar: AvatarCreated | null;
  uploading: boolean;
  progress: number | null;
  error: string | null;
  /** The upload failed on the way (network, server busy): the same photo may pass when sent again. */
  retryable: boolean;
}

export interface VoiceState {
  voice: VoiceInfo | null;
  /** The report of the whole voice (all files accepted so far). */
  report: VoiceReport | null;
  /** Files of the last upload that were refused as a whole (shown under the report). */
  rejected: VoiceFileReport[];
  /** Files of the last failed upload, for a retry. */
  pending: File[];
  uploading: boolean;
  progress: number | null;
  /** The server's analysis of the uploaded files (a job), once the upload is complete. */
  analysis: { progress: number; message: string } | null;
  error: string | null;
  /** The user chose the standard voice. */
  skipped: boolean;
  /** The standard voice the user picked (null: the default for the persona's gender). */
  ttsVoice: string | null;
}

export interface PersonaForm {
  name: string;
  age: string;
  gender: Gender;
  temperament: string;
  interests: string;
  speech_style: string;
  greeting: string;
  notes: string;
}

export type PersonaErrors = Partial<Record<keyof PersonaForm, string>>;

export interface CharacterState {
  form: PersonaForm;
  errors: PersonaErrors;
  /** Id of the persona once created (later changes replace it). */
  personaId: number | null;
  saving: boolean;
  error: string | null;
}

export interface PrepareState {
  status: "idle" | "running" | "done" | "error";
  /** 0..1 */
  progress: number;
  message: string;
  similarity: VoiceSimilarity | null;
  /** The standard voice closest to the samples once matched (the persona's voice unless the user picked one). */
  baseVoice: string | null;
  /** The standard voices ranked by the preparation, best first. */
  standardVoices: StandardVoiceScore[];
  error: string | null;
  /** Saving the persona with the voice chosen here failed. */
  saveError: string | null;
  /** Voice version the preparation was done for (a new sample upload makes it stale). */
  preparedVersion: number | null;
}

export interface TestState {
  status: "idle" | "running" | "done" | "error";
  /** 0..1, null when unknown. */
  progress: number | null;
  message: string;
  videoUrl: string | null;
  error: string | null;
}

export const initialPhoto: PhotoState = { file: null, localUrl: null, avatar: null, uploading: false, progress: null, error: null, retryable: false };

export const initialVoice: VoiceState = {
  voice: null, report: null, rejected: [], pending: [], uploading: false, progress: null, analysis: null, error: null, skipped: false, ttsVoice: null,
};

export const initialForm: PersonaForm = {
  name: "", age: "", gender: "female", temperament: "", interests: "", speech_style: "", greeting: "", notes: "",
};

export const initialCharacter: CharacterState = { form: initialForm, errors: {}, personaId: null, saving: false, error: null };

export const initialPrepare: PrepareState = {
  status: "idle", progress: 0, message: "", similarity: null, baseVoice: null, standardVoices: [], error: null, saveError: null, preparedVersion: null,
};

export const initialTest: TestState = { status: "idle", progress: null, message: "", videoUrl: null, error: null };
