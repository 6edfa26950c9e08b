/** The persona's voice: the standard voice, the recorded voice it speaks with, and more recordings. */
import { useState } from "react";
import { describeError } from "../api/errors";
import { usePatchPersona, useTtsVoices, useVoices } from "../api/queries";
import type { Persona, PersonaPatch, VoiceInfo } from "../api/types";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { inputClass } from "../components/Field";
import { standardVoiceOf } from "../wizard/personaForm";
import { StandardVoicePicker } from "../wizard/StandardVoicePicker";
import { TrainingPanel } from "../wizard/TrainingPanel";
import { AddRecordings } from "./AddRecordings";

function voiceLabel(voice: VoiceInfo): string {
  const seconds = Math.round(voice.usable_s);
  return `${voice.name} — ${seconds} с речи${voice.prepared ? "" : ", не подготовлен"}`;
}

export function VoiceEditor({ persona }: { persona: Persona }) {
  const voices = useVoices();
  const ttsVoices = useTtsVoices().data;
  const { mutate, isPending, error } = usePatchPersona();
  const [adding, setAdding] = useState(false);
  const gender = persona.gender === "male" ? "male" : "female";
  const standard = standardVoiceOf(ttsVoices, persona.tts_voice, gender);
  const save = (patch: PersonaPatch) => mutate({ id: persona.id, patch });
  const list = voices.data ?? [];
  const missing = persona.voice_id && !list.some((v) => v.id === persona.voice_id);

  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-col gap-1.5">
        <label htmlFor="edit-voice-id" className="text-sm font-medium text-slate-200">
          Записанный голос
        </label>
        <select
          id="edit-voice-id"
          data-testid="edit-voice-id"
          className={inputClass}
          value={persona.voice_id ?? ""}
          disabled={isPending || voices.isPending}
          aria-describedby="edit-voice-id-hint"
          onChange={(e) => save({ voice_id: e.target.value || null })}
        >
          <option value="">Без записей — только стандартный голос</option>
          {missing && <option value={persona.voice_id ?? ""}>{persona.voice_id}</option>}
          {list.map((voice) => (
            <option key={voice.id} value={voice.id}>
              {voiceLabel(voice)}
            </option>
          ))}
        </select>
        <p id="edit-voice-id-hint" className="text-xs text-slate-400">
          С записанным голосом стандартный голос подстраивается под запись.
        </p>
      </div>
      {voices.isError && <ErrorNotice message={`Не удалось загрузить записанные голоса: ${describeError(voices.error)}`} onRetry={() => void voices.refetch()} />}
      {error && <ErrorNotice testId="edit-voice-save-error" message={`Не удалось сохранить голос: ${describeError(error)}`} />}
      {persona.voice_id && !missing && <TrainingPanel voiceId={persona.voice_id} />}

      <StandardVoicePicker selected={standard} onSelect={(name) => save({ tts_voice: name })} />

      <div className="flex flex-col gap-3 border-t border-slate-800 pt-4">
        <Button data-testid="edit-voice-add" className="self-start" aria-expanded={adding} onClick={() => setAdding((on) => !on)}>
          {adding ? "Скрыть запись голоса" : persona.voice_id ? "Добавить записи" : "Записать свой голос"}
        </Button>
        {adding && <AddRecordings persona={persona} />}
      </div>
    </div>
  );
}
