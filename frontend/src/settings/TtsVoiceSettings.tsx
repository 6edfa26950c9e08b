/**
 * The TTS engine's standard voices on the settings page (engines that have them, RHVoice): the
 * engine's `voice` as a select with «Послушать», and `allow_noncommercial_voices` with its caveat.
 */
import { describeError } from "../api/errors";
import { useTtsVoices } from "../api/queries";
import type { UiSettings, UiSettingsUpdate } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { inputClass } from "../components/Field";
import { NONCOMMERCIAL, PreviewButton, voiceOptionLabel } from "../components/StandardVoice";
import { usePreview } from "../media/usePreview";

export interface TtsVoiceSettingsProps {
  settings: UiSettings;
  disabled: boolean;
  save: (update: UiSettingsUpdate) => void;
}

export function TtsVoiceSettings({ settings, disabled, save }: TtsVoiceSettingsProps) {
  const query = useTtsVoices();
  const preview = usePreview();
  const data = query.data;
  const voices = data?.voices ?? [];

  if (query.isError) {
    return <ErrorNotice testId="tts-voices-error" message={`Не удалось загрузить голоса синтеза: ${describeError(query.error)}`} onRetry={() => void query.refetch()} />;
  }
  // the voices of another engine (the list is fetched again once the switch is done)
  if (!data || data.engine !== settings.engines.tts || !voices.length) return null;

  const configured = settings.options?.tts?.voice;
  const current = voices.some((v) => v.name === configured) ? (configured as string) : "";
  const labelOf = (name: string | null) => voices.find((v) => v.name === name)?.label ?? name ?? "—";
  const defaults = `По умолчанию: ${labelOf(data.default.female)} (женский), ${labelOf(data.default.male)} (мужской)`;
  const heard = current || data.default.female || voices[0].name;
  const licences = [...new Set(voices.filter((v) => !v.commercial).map((v) => v.licence))].join(", ") || "CC-BY-NC-ND";

  return (
    <div data-testid="tts-voice-settings" className="mt-1 flex flex-col gap-3 rounded-lg p-3 ring-1 ring-slate-800">
      <div className="flex flex-col gap-1.5">
        <label htmlFor="tts-voice" className="text-sm font-medium text-slate-200">
          Голос синтеза
        </label>
        <div className="flex flex-wrap items-center gap-2">
          <select
            id="tts-voice"
            data-testid="tts-voice"
            className={`${inputClass} flex-1`}
            value={current}
            disabled={disabled}
            onChange={(e) => {
              if (e.target.value) save({ options: { tts: { voice: e.target.value } } });
            }}
          >
            {!current && <option value="">{defaults}</option>}
            {voices.map((voice) => (
              <option key={voice.name} value={voice.name}>
                {voiceOptionLabel(voice)}
              </option>
            ))}
          </select>
          <PreviewButton voice={heard} label={labelOf(heard)} preview={preview} />
        </div>
        <p className="text-xs text-slate-400">
          Этим голосом говорят персонажи, которым в мастере не выбран свой стандартный голос; записи голоса подстраиваются поверх него.
        </p>
      </div>
      {preview.error && <ErrorNotice testId="tts-preview-error" message={preview.error} />}

      <div className="flex flex-col gap-1">
        <label className="flex items-center gap-2 text-sm text-slate-200">
          <input
            type="checkbox"
            role="switch"
            data-testid="tts-allow-noncommercial"
            aria-describedby="tts-allow-noncommercial-hint"
            className="h-4 w-4 accent-indigo-500"
            checked={data.allow_noncommercial}
            disabled={disabled}
            onChange={(e) => save({ options: { tts: { allow_noncommercial_voices: e.target.checked } } })}
          />
          Разрешить голоса {NONCOMMERCIAL}
        </label>
        <p id="tts-allow-noncommercial-hint" className="text-xs text-amber-200/90">
          Лицензия этих голосов ({licences}) запрещает коммерческое использование: их нельзя применять в платных услугах,
          рекламе и работе на заказ. В списке они помечены.
        </p>
      </div>
    </div>
  );
}
