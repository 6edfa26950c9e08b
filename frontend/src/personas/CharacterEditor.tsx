/**
 * The persona's character (the wizard's form and checks), saved with PATCH; after a save, the
 * warm-up that the change started shows beside the button.
 */
import { useState } from "react";
import { describeError } from "../api/errors";
import { usePatchPersona } from "../api/queries";
import type { Persona } from "../api/types";
import { Button } from "../components/Button";
import { PersonaWarmupStatus } from "../components/PersonaWarmupStatus";
import { CharacterStep } from "../wizard/CharacterStep";
import { validatePersona } from "../wizard/personaForm";
import type { CharacterState, PersonaForm } from "../wizard/state";
import { characterPatch, formOf } from "./format";

const PREFIX = "edit";

/** Mount with `key={persona.id}`: the form starts from the persona and keeps edits until saved. */
export interface CharacterEditorProps {
  persona: Persona;
  /** Show the persona's warm-up here (after a save). */
  showWarmup?: boolean;
  /** Saved (true), or changed again since (false). */
  onSaved?: (saved: boolean) => void;
}

export function CharacterEditor({ persona, showWarmup = false, onSaved }: CharacterEditorProps) {
  const { mutateAsync: patch } = usePatchPersona();
  const [state, setState] = useState<CharacterState>(() => ({ form: formOf(persona), errors: {}, personaId: persona.id, saving: false, error: null }));
  const [saved, setSaved] = useState(false);

  const change = (field: keyof PersonaForm, value: string) => {
    if (saved) onSaved?.(false);
    setSaved(false);
    setState((s) => {
      const { [field]: _dropped, ...errors } = s.errors;
      void _dropped;
      return { ...s, form: { ...s.form, [field]: value }, errors, error: null };
    });
  };

  const save = async () => {
    const errors = validatePersona(state.form);
    if (Object.keys(errors).length) {
      setState((s) => ({ ...s, errors, error: "Проверьте поля, отмеченные красным." }));
      document.getElementById(`${PREFIX}-${Object.keys(errors)[0]}`)?.focus();
      return;
    }
    setState((s) => ({ ...s, errors: {}, saving: true, error: null }));
    try {
      const updated = await patch({ id: persona.id, patch: characterPatch(state.form) });
      setState((s) => ({ ...s, form: formOf(updated), saving: false }));
      setSaved(true);
      onSaved?.(true);
    } catch (err) {
      setState((s) => ({ ...s, saving: false, error: describeError(err) }));
    }
  };

  return (
    <div className="flex flex-col gap-4">
      <CharacterStep state={state} onChange={change} idPrefix={PREFIX} />
      <div className="flex flex-wrap items-center gap-3">
        <Button variant="primary" data-testid="edit-save" onClick={() => void save()} busy={state.saving}>
          Сохранить характер
        </Button>
        {saved && (
          <span role="status" data-testid="edit-saved" className="text-sm text-emerald-300">
            Сохранено
          </span>
        )}
      </div>
      {showWarmup && <PersonaWarmupStatus personaId={persona.id} />}
    </div>
  );
}
