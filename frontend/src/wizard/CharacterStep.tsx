/** Step 3: who the avatar is - name, age, temperament, interests, way of speaking, greeting, notes. */
import type { ChangeEvent } from "react";
import { ErrorNotice } from "../components/ErrorNotice";
import { Field, inputClass } from "../components/Field";
import { LIMITS } from "./personaForm";
import type { CharacterState, PersonaForm } from "./state";

export interface CharacterStepProps {
  state: CharacterState;
  onChange: (field: keyof PersonaForm, value: string) => void;
  /** Prefix of the fields' ids and test ids (another form on the page uses another one). */
  idPrefix?: string;
}

export function CharacterStep({ state, onChange, idPrefix = "persona" }: CharacterStepProps) {
  const { form, errors } = state;
  const id = (field: keyof PersonaForm) => `${idPrefix}-${field}`;
  const testId = (field: keyof PersonaForm) => `${idPrefix}-${field === "speech_style" ? "style" : field}`;
  const bind = (field: keyof PersonaForm) => ({
    id: id(field),
    "data-testid": testId(field),
    value: form[field],
    "aria-invalid": errors[field] ? true : undefined,
    "aria-describedby": errors[field] ? `${id(field)}-error` : undefined,
    onChange: (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => onChange(field, e.target.value),
    className: inputClass,
  });

  return (
    <form className="grid gap-4 sm:grid-cols-2" noValidate onSubmit={(e) => e.preventDefault()} aria-label="Характер персонажа">
      <Field id={id("name")} label="Имя" error={errors.name}>
        <input {...bind("name")} maxLength={LIMITS.name + 10} autoComplete="off" placeholder="Например, Маша" />
      </Field>
      <div className="grid grid-cols-2 gap-3">
        <Field id={id("age")} label="Возраст" error={errors.age}>
          <input {...bind("age")} inputMode="numeric" placeholder="25" />
        </Field>
        <Field id={id("gender")} label="Пол">
          <select {...bind("gender")}>
            <option value="female">женский</option>
            <option value="male">мужской</option>
          </select>
        </Field>
      </div>
      <Field id={id("temperament")} label="Характер" hint="Например: спокойная, добрая, немного ироничная" error={errors.temperament}>
        <input {...bind("temperament")} />
      </Field>
      <Field id={id("interests")} label="Интересы" hint="Через запятую: книги, путешествия, кино" error={errors.interests}>
        <input {...bind("interests")} />
      </Field>
      <Field id={id("speech_style")} label="Стиль речи" hint="Например: говорит просто, шутит, обращается на «ты»" error={errors.speech_style}>
        <input {...bind("speech_style")} />
      </Field>
      <Field id={id("greeting")} label="Приветствие" hint="Первая фраза аватара; пусто — стандартное приветствие" error={errors.greeting}>
        <input {...bind("greeting")} />
      </Field>
      <div className="sm:col-span-2">
        <Field id={id("notes")} label="Заметки" hint="Всё, что ещё важно знать о персонаже: биография, привычки, о чём не говорить" error={errors.notes}>
          <textarea {...bind("notes")} rows={4} />
        </Field>
      </div>
      {state.error && (
        <div className="sm:col-span-2">
          <ErrorNotice testId={`${idPrefix}-error`} message={state.error} />
        </div>
      )}
    </form>
  );
}
