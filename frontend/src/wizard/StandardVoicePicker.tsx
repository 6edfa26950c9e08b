/**
 * The persona's standard voice: the TTS engine's voices, each with «Послушать»; hidden for engines
 * without standard voices. The selected one is the persona's `tts_voice`.
 */
import { describeError } from "../api/errors";
import { useTtsVoices } from "../api/queries";
import { ErrorNotice } from "../components/ErrorNotice";
import { GENDER_LABELS, NoncommercialBadge, PreviewButton } from "../components/StandardVoice";
import { usePreview } from "../media/usePreview";

export interface StandardVoicePickerProps {
  /** The voice selected now (the user's choice, else the default for the persona's gender). */
  selected: string | null;
  onSelect: (name: string) => void;
}

export function StandardVoicePicker({ selected, onSelect }: StandardVoicePickerProps) {
  const query = useTtsVoices();
  const preview = usePreview();
  const voices = query.data?.voices ?? [];

  if (query.isPending) return null;
  if (query.isError) {
    return <ErrorNotice testId="tts-voices-error" message={`Не удалось загрузить стандартные голоса: ${describeError(query.error)}`} onRetry={() => void query.refetch()} />;
  }
  if (!voices.length) return null;

  return (
    <fieldset data-testid="tts-voices" className="flex flex-col gap-3 border-t border-slate-800 pt-4">
      <legend className="text-sm font-medium text-slate-200">Стандартный голос</legend>
      <p className="text-xs text-slate-400">
        Без записей аватар говорит этим голосом, а с записями это основа, которую «подстройка голоса» приближает к записанному голосу.
      </p>
      <ul className="flex flex-col gap-2">
        {voices.map((voice) => {
          const id = `tts-voice-${voice.name}`;
          const checked = voice.name === selected;
          return (
            <li
              key={voice.name}
              data-testid="tts-voice"
              data-voice={voice.name}
              data-selected={checked || undefined}
              className={`flex flex-wrap items-center gap-x-3 gap-y-2 rounded-lg px-3 py-2 ring-1 ${checked ? "bg-indigo-950/50 ring-indigo-500" : "ring-slate-800"}`}
            >
              <input id={id} type="radio" name="tts-voice" value={voice.name} checked={checked} onChange={() => onSelect(voice.name)} className="accent-indigo-500" />
              <label htmlFor={id} className="flex-1 cursor-pointer text-sm text-slate-100">
                {voice.label} <span className="text-xs text-slate-400">· {GENDER_LABELS[voice.gender] ?? voice.gender}</span>
              </label>
              {!voice.commercial && <NoncommercialBadge licence={voice.licence} />}
              <PreviewButton voice={voice.name} label={voice.label} preview={preview} />
            </li>
          );
        })}
      </ul>
      {preview.error && <ErrorNotice testId="tts-preview-error" message={preview.error} />}
    </fieldset>
  );
}
