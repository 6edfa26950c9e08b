/** Step 3: who the avatar is - name, age, temperament, interests, way of speaking, greeting, notes. */
import type { ChangeEvent } from "react";
import { ErrorNotice } from "../components/ErrorNotice";
import { Field, inputClass } from "../components/Field";
import { LIMITS } from "./personaForm";
import type { CharacterState, PersonaForm } from "./state";

export interface CharacterStepProps {
  state: CharacterState;
  onChange: (field: keyof PersonaForm, value: string) => void;
}

export function CharacterStep({ state, onChange }: CharacterStepProps) {
  const { form, errors } = state;
  const bind = (field: keyof PersonaForm) => ({
    id: `persona-${field}`,
    value: form[field],
    "aria-invalid": errors[field] ? true : undefined,
    "aria-describedby": errors[field] ? `persona-${field}-error` : undefined,
    onChange: (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => onChange(field, e.target.value),
    className: inputClass,
  });

  return (
    <form className="grid gap-4 sm:grid-cols-2" noValidate onSubmit={(e) => e.preventDefault()} aria-label="Характер персонажа">
      <Field id="persona-name" label="Имя" error={errors.name}>
        <input {...bind("name")} data-testid="persona-name" maxLength={LIMITS.name + 10} autoComplete="off" placeholder="Например, Маша" />
      </Field>
      <div className="grid grid-cols-2 gap-3">
        <Field id="persona-age" label="Возраст" error={errors.age}>
          <input {...bind("age")} data-testid="persona-age" inputMode="numeric" placeholder="25" />
        </Field>
        <Field id="persona-gender" label="Пол">
          <select {...bind("gender")} data-testid="persona-gender">
            <option value="female">женский</option>
            <option value="male">мужской</option>
          </select>
        </Field>
      </div>
      <Field id="persona-temperament" label="Характер" hint="Например: спокойная, добрая, немного ироничная" error={errors.temperament}>
        <input {...bind("temperament")} data-testid="persona-temperament" />
      </Field>
      <Field id="persona-interests" label="Интересы" hint="Через запятую: книги, путешествия, кино" error={errors.interests}>
        <input {...bind("interests")} data-testid="persona-interests" />
      </Field>
      <Field id="persona-speech_style" label="Стиль речи" hint="Например: говорит просто, шутит, обращается на «ты»" error={errors.speech_style}>
        <input {...bind("speech_style")} data-testid="persona-style" />
      </Field>
      <Field id="persona-greeting" label="Приветствие" hint="Первая фраза аватара; пусто — стандартное приветствие" error={errors.greeting}>
        <input {...bind("greeting")} data-testid="persona-greeting" />
      </Field>
      <div className="sm:col-span-2">
        <Field id="persona-notes" label="Заметки" hint="Всё, что ещё важно знать о персонаже: биография, привычки, о чём не говорить" error={errors.notes}>
          <textarea {...bind("notes")} data-testid="persona-notes" rows={4} />
        </Field>
      </div>
      {state.error && (
        <div className="sm:col-span-2">
          <ErrorNotice testId="persona-error" message={state.error} />
        </div>
      )}
    </form>
  );
}
