/**
 * Deleting a persona after a confirmation. Deleting the selected one selects another; deleting the
 * last one leads to the wizard (the app never stays without personas).
 */
import { useState } from "react";
import { describeError } from "../api/errors";
import { useDeletePersona } from "../api/queries";
import type { Persona } from "../api/types";
import { Button } from "../components/Button";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { usePersona } from "../state/persona";
import { navigate } from "../state/route";

/** The id of the persona screen's title (focusable), where focus goes after a deletion. */
export const TITLE_ID = "personas-title";

export function DeletePersona({ persona }: { persona: Persona }) {
  const [asking, setAsking] = useState(false);
  const remove = useDeletePersona();
  const { personaId, select } = usePersona();

  const confirm = async () => {
    let left;
    try {
      left = await remove.mutateAsync(persona.id);
    } catch {
      return; // shown in the dialog
    }
    setAsking(false);
    if (!left.length) {
      navigate("wizard");
      return;
    }
    if (personaId === persona.id) select(left[0].id);
    // the button that opened the dialog is gone with the persona: focus goes to the screen's title
    setTimeout(() => document.getElementById(TITLE_ID)?.focus(), 0);
  };

  return (
    <div className="flex flex-col gap-2">
      <p className="text-sm text-slate-400">Удаляются персонаж, все его разговоры и всё, что он о вас узнал. Фото и записи голоса остаются.</p>
      <Button variant="danger" data-testid="persona-delete" className="self-start" onClick={() => { remove.reset(); setAsking(true); }}>
        Удалить персонажа
      </Button>
      {asking && (
        <ConfirmDialog
          testId="persona-delete-dialog"
          title={`Удалить «${persona.name}»?`}
          confirmLabel="Удалить"
          busy={remove.isPending}
          error={remove.error ? describeError(remove.error) : null}
          onCancel={() => setAsking(false)}
          onConfirm={() => void confirm()}
        >
          Персонаж, его разговоры и воспоминания будут удалены без возможности восстановления.
        </ConfirmDialog>
      )}
    </div>
  );
}
