/** Step 2: voice samples (files or a browser recording) and the server's quality report, may be skipped; the standard voice. */
import { useApi } from "../api/context";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { ProgressBar } from "../components/ProgressBar";
import type { VoiceState } from "./state";
import { VoiceRecorder } from "./VoiceRecorder";
import { StandardVoicePicker } from "./StandardVoicePicker";
import { VoiceReportView } from "./VoiceReportView";

export const VOICE_ACCEPT = "audio/*,video/webm,.wav,.mp3,.ogg,.oga,.opus,.m4a,.webm,.flac";

export interface VoiceStepProps {
  state: VoiceState;
  onFiles: (files: File[]) => void;
  onRetry: () => void;
  onSkip: () => void;
  /** The persona's standard voice as selected now (null: none known). */
  ttsVoice?: string | null;
  onTtsVoice?: (name: string) => void;
}

export function VoiceStep({ state, onFiles, onRetry, onSkip, ttsVoice = null, onTtsVoice }: VoiceStepProps) {
  const client = useApi();
  const samples = state.voice?.samples?.slice(0, 3) ?? [];
  return (
    <div className="flex flex-col gap-5">
      <p className="text-sm text-slate-300">
        Загрузите записи голоса (wav, mp3, ogg, m4a, webm) или запишите его прямо здесь. Нужна чистая речь одного человека без
        музыки: минимум 30 секунд, а для хорошего сходства — около 5 минут. Записи можно добавлять несколько раз.
      </p>
      <div className="flex flex-wrap items-center gap-2">
        <label className="inline-flex cursor-pointer items-center rounded-lg bg-indigo-500 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-400 focus-within:outline-2 focus-within:outline-indigo-300">
          {state.voice ? "Добавить файлы" : "Выбрать файлы"}
          <input
            type="file"
            multiple
            accept={VOICE_ACCEPT}
            data-testid="voice-input"
            className="sr-only"
            disabled={state.uploading}
            onChange={(e) => {
              const files = Array.from(e.target.files ?? []);
              if (files.length) onFiles(files);
              e.target.value = "";
            }}
          />
        </label>
        {state.voice && <span className="text-xs text-slate-400">Голос сохранён, версия {state.voice.current_version}</span>}
      </div>

      <VoiceRecorder onRecorded={(file) => onFiles([file])} disabled={state.uploading} />

      {state.uploading && !state.analysis && (
        <div className="flex flex-col gap-2">
          <p className="text-sm text-slate-300">
            {state.progress !== null && state.progress < 1 ? "Загружаем записи…" : "Сервер анализирует записи…"}
          </p>
          <ProgressBar value={state.progress !== null && state.progress < 1 ? state.progress : null} label="Загрузка записей" />
        </div>
      )}
      {state.uploading && state.analysis && (
        <div className="flex flex-col gap-2">
          <div className="flex justify-between gap-2 text-sm">
            <span className="text-slate-300" aria-live="polite" data-testid="voice-analysis-message">
              {state.analysis.message || "Сервер анализирует записи…"}
            </span>
            <span className="font-mono text-slate-400">{Math.round(state.analysis.progress * 100)}%</span>
          </div>
          <ProgressBar value={state.analysis.progress} testId="voice-analysis-progress" label="Анализ записей" />
        </div>
      )}
      {state.error && <ErrorNotice testId="voice-error" message={state.error} onRetry={state.pending.length ? onRetry : undefined} />}

      <VoiceReportView report={state.report} rejected={state.rejected} />

      {samples.length > 0 && (
        <div className="flex flex-col gap-2">
          <h2 className="text-sm text-slate-300">Послушайте, как сервер нарезал речь на фразы:</h2>
          <div className="flex flex-col gap-2 sm:flex-row sm:flex-wrap">
            {samples.map((url, i) => (
              // eslint-disable-next-line jsx-a11y/media-has-caption -- the user's own recording: no transcript to caption it with
              <audio key={url} controls preload="none" src={client.url(url)} aria-label={`Фраза ${i + 1}`} className="h-9 w-full sm:w-64" />
            ))}
          </div>
        </div>
      )}

      {onTtsVoice && <StandardVoicePicker selected={ttsVoice} onSelect={onTtsVoice} />}

      <div className="flex flex-col gap-2 border-t border-slate-800 pt-4 sm:flex-row sm:items-center">
        <Button variant="ghost" data-testid="voice-skip" onClick={onSkip}>
          Пропустить: говорить стандартным голосом
        </Button>
        <p className="text-xs text-slate-400">
          Без записей аватар будет говорить встроенным синтезированным голосом. Голос можно добавить позже на странице{" "}
          <a href="#/personas" className="text-indigo-300 underline hover:text-indigo-200">
            «Персонажи»
          </a>
          .
        </p>
      </div>
    </div>
  );
}
