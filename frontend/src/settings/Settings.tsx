/**
 * Settings: engine per pipeline stage (light/heavy; those this server cannot run are disabled, with
 * the reason), the standard voice of RHVoice, the llama.cpp model (embedded or added by the user),
 * quality vs speed, microphone; server notices.
 */
import { Card } from "../components/Card";
import { ErrorNotice } from "../components/ErrorNotice";
import { inputClass } from "../components/Field";
import { Notices } from "../components/Notices";
import { ProgressBar } from "../components/ProgressBar";
import { STAGES, type EngineOption, type Quality, type Stage } from "../api/types";
import { LlmModelSettings } from "./LlmModelSettings";
import { MicSelect } from "./MicSelect";
import { TtsVoiceSettings } from "./TtsVoiceSettings";
import { useSettings } from "./useSettings";

export const STAGE_LABELS: Record<Stage, string> = {
  asr: "Распознавание речи",
  llm: "Языковая модель",
  emotion: "Эмоции",
  tts: "Синтез речи",
  talking_head: "Анимация лица",
  enhance: "Улучшение изображения",
};

const QUALITY: { value: Quality; label: string }[] = [
  { value: "speed", label: "Скорость — быстрее ответ, проще картинка" },
  { value: "balanced", label: "Баланс" },
  { value: "quality", label: "Качество — лучше картинка, ответ медленнее" },
];

export function optionLabel(option: EngineOption, gpu: boolean | undefined): string {
  const kind = option.heavy ? "тяжёлый" : "лёгкий";
  const gpuNote = option.heavy && gpu === false ? ", видеокарты нет" : "";
  const unavailable = option.available ? "" : ` — недоступен${option.reason_ru ? `: ${option.reason_ru}` : ""}`;
  return `${option.label_ru} (${kind}${gpuNote})${unavailable}`;
}

export function Settings() {
  const { settings, health, notices, loadError, saveError, saving, load, save } = useSettings();
  const gpu = health?.devices?.gpu;

  return (
    <section data-testid="settings" aria-labelledby="settings-title" className="flex flex-col gap-4">
      <h1 id="settings-title" className="text-lg font-semibold text-white">
        Настройки
      </h1>
      <Notices notices={notices} testId="settings-notices" />
      {loadError && <ErrorNotice message={loadError} onRetry={load} />}
      {saveError && <ErrorNotice testId="settings-error" message={saveError} />}

      <Card className="flex flex-col gap-4">
        <h2 className="text-base font-medium text-white">Движки</h2>
        <p className="text-xs text-slate-400">
          Лёгкие движки работают на обычном процессоре. Тяжёлые точнее и красивее, но им нужна видеокарта и скачанные модели;
          если тяжёлый движок не загрузится, сервер вернётся к лёгкому и скажет об этом выше.
        </p>
        {!settings && !loadError && <p className="text-sm text-slate-400">Загрузка…</p>}
        {settings && (
          <div className="grid gap-4 sm:grid-cols-2">
            {STAGES.filter((stage) => settings.available[stage]?.length).map((stage) => {
              const options = settings.available[stage] ?? [];
              const unavailable = options.filter((o) => !o.available);
              const progress = settings.reloading[stage];
              return (
                <div key={stage} className="flex flex-col gap-1.5">
                  <label htmlFor={`engine-${stage}`} className="text-sm font-medium text-slate-200">
                    {STAGE_LABELS[stage]}
                  </label>
                  <select
                    id={`engine-${stage}`}
                    data-testid={`engine-${stage}`}
                    className={inputClass}
                    value={settings.engines[stage] ?? ""}
                    disabled={saving || progress !== undefined}
                    aria-describedby={unavailable.length ? `unavailable-${stage}` : undefined}
                    onChange={(e) => save({ engines: { [stage]: e.target.value } })}
                  >
                    {!options.some((o) => o.name === settings.engines[stage]) && <option value={settings.engines[stage] ?? ""}>{settings.engines[stage] ?? "—"}</option>}
                    {options.map((option) => (
                      <option key={option.name} value={option.name} disabled={!option.available}>
                        {optionLabel(option, gpu)}
                      </option>
                    ))}
                  </select>
                  {unavailable.length > 0 && (
                    <ul id={`unavailable-${stage}`} data-testid={`unavailable-${stage}`} className="flex flex-col gap-0.5 text-xs text-amber-200/90">
                      {unavailable.map((option) => (
                        <li key={option.name}>
                          Недоступен здесь: {option.label_ru}
                          {option.reason_ru ? ` — ${option.reason_ru}` : ""}
                        </li>
                      ))}
                    </ul>
                  )}
                  {progress !== undefined && (
                    <div className="flex flex-col gap-1" data-testid={`reloading-${stage}`}>
                      <span className="text-xs text-indigo-200">Загружаем движок…</span>
                      <ProgressBar value={progress} label={`Загрузка: ${STAGE_LABELS[stage]}`} />
                    </div>
                  )}
                  {stage === "llm" && settings.engines.llm === "llama_cpp" && (
                    <LlmModelSettings settings={settings} disabled={saving || progress !== undefined} save={save} />
                  )}
                  {stage === "tts" && settings.engines.tts === "rhvoice" && (
                    <TtsVoiceSettings settings={settings} disabled={saving || progress !== undefined} save={save} />
                  )}
                </div>
              );
            })}
          </div>
        )}
      </Card>

      <Card className="grid gap-4 sm:grid-cols-2">
        <div className="flex flex-col gap-1.5">
          <label htmlFor="quality-mode" className="text-sm font-medium text-slate-200">
            Качество или скорость
          </label>
          <select
            id="quality-mode"
            data-testid="quality-mode"
            className={inputClass}
            value={settings?.quality ?? "balanced"}
            disabled={!settings || saving}
            onChange={(e) => save({ quality: e.target.value as Quality })}
          >
            {QUALITY.map((q) => (
              <option key={q.value} value={q.value}>
                {q.label}
              </option>
            ))}
          </select>
          <p className="text-xs text-slate-400">Меняет размер и частоту кадров видео и сжатие.</p>
        </div>
        <MicSelect />
      </Card>
    </section>
  );
}
