/** Checks of the character form, with the server's limits and Russian messages. */
import type { Gender, PersonaIn, TtsVoices } from "../api/types";
import type { PersonaErrors, PersonaForm } from "./state";

export const LIMITS = { name: 60, temperament: 300, speech_style: 300, greeting: 300, notes: 2000, interests: 20, interest: 60 };

/** Interests typed as "книги, кино; походы" -> ["книги", "кино", "походы"]. */
export function splitInterests(text: string): string[] {
  return text.split(/[,;\n]/).map((s) => s.trim()).filter(Boolean);
}

/** Russian messages per field; empty when the form can be sent. */
export function validatePersona(form: PersonaForm): PersonaErrors {
  const errors: PersonaErrors = {};
  const name = form.name.trim();
  if (!name) errors.name = "Введите имя.";
  else if (name.length > LIMITS.name) errors.name = `Имя не длиннее ${LIMITS.name} символов.`;

  const ageText = form.age.trim();
  const age = Number(ageText);
  if (!ageText) errors.age = "Укажите возраст.";
  else if (!/^\d+$/.test(ageText) || age < 1 || age > 120) errors.age = "Возраст: целое число от 1 до 120.";

  const texts = [["temperament", "Характер"], ["speech_style", "Стиль речи"], ["greeting", "Приветствие"], ["notes", "Заметки"]] as const;
  for (const [field, label] of texts) {
    if (form[field].trim().length > LIMITS[field]) errors[field] = `${label}: не длиннее ${LIMITS[field]} символов.`;
  }

  const interests = splitInterests(form.interests);
  if (interests.length > LIMITS.interests) errors.interests = `Не больше ${LIMITS.interests} интересов.`;
  else if (interests.some((i) => i.length > LIMITS.interest)) errors.interests = `Каждый интерес не длиннее ${LIMITS.interest} символов.`;
  return errors;
}

/** The greeting to use: the typed one, else a default in the persona's name. */
export function greetingOf(form: PersonaForm): string {
  return form.greeting.trim() || `Привет! Меня зовут ${form.name.trim()}. Рада познакомиться!`.replace(
    "Рада", form.gender === "male" ? "Рад" : "Рада",
  );
}

/**
 * The persona's standard voice: the one the user picked while the engine still offers it, else the
 * engine's default for the persona's gender; null when the voices are not known (the server decides).
 */
export function standardVoiceOf(voices: TtsVoices | undefined, picked: string | null, gender: Gender): string | null {
  if (!voices) return picked;
  if (!voices.voices.length) return null;
  if (picked && voices.voices.some((v) => v.name === picked)) return picked;
  return voices.default[gender] ?? null;
}

export function toPersonaIn(form: PersonaForm, avatarId: string | null, voiceId: string | null, ttsVoice: string | null = null): PersonaIn {
  return {
    name: form.name.trim(),
    age: Number(form.age),
    gender: form.gender,
    temperament: form.temperament.trim(),
    interests: splitInterests(form.interests),
    speech_style: form.speech_style.trim(),
    greeting: greetingOf(form),
    notes: form.notes.trim(),
    language: "ru",
    avatar_id: avatarId,
    voice_id: voiceId,
    tts_voice: ttsVoice,
  };
}
