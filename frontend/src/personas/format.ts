/** Converting a stored persona to the character form and back, and the Russian dates and counts of the screen. */
import type { Gender, Persona, PersonaPatch } from "../api/types";
import { toPersonaIn } from "../wizard/personaForm";
import type { PersonaForm } from "../wizard/state";

/** The character form filled with a stored persona. */
export function formOf(persona: Persona): PersonaForm {
  const gender: Gender = persona.gender === "male" ? "male" : "female";
  return {
    name: persona.name,
    age: String(persona.age),
    gender,
    temperament: persona.temperament,
    interests: persona.interests.join(", "),
    speech_style: persona.speech_style,
    greeting: persona.greeting,
    notes: persona.notes,
  };
}

/** The character fields of a (valid) form as a PATCH body: photo and voice stay as they are. */
export function characterPatch(form: PersonaForm): PersonaPatch {
  const { name, age, gender, temperament, interests, speech_style, greeting, notes } = toPersonaIn(form, null, null);
  return { name, age, gender, temperament, interests, speech_style, greeting, notes };
}

/** A server timestamp (UTC, maybe without a zone) as a Russian date and time. */
export function formatDate(iso: string): string {
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString("ru-RU", { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** «1 сообщение», «3 сообщения», «5 сообщений». */
export function messagesCount(n: number): string {
  const mod10 = n % 10;
  const mod100 = n % 100;
  const word = mod10 === 1 && mod100 !== 11 ? "сообщение" : mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14) ? "сообщения" : "сообщений";
  return `${n} ${word}`;
}
