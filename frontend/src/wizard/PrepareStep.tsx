/**
 * Step 4: the server prepares the voice (a job); a real progress bar, then the similarity score and
 * the standard voice that, once matched, comes closest to the samples (the persona's base voice).
 * Once prepared, the voice can also be trained on a server that can (TrainingPanel).
 */
import type { StandardVoiceScore } from "../api/types";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { ProgressBar } from "../components/ProgressBar";
import type { PrepareState } from "./state";
import { TrainingPanel } from "./TrainingPanel";

/** A similarity 0..1 the Russian way: 0,86. */
export function formatScore(value: number): string {
  return value.toFixed(2).replace(".", ",");
}

/** A voice's name in the accusative («Взять Александра», «Взять Анну»); other words stay as they are. */
export function accusative(label: string): string {
  const [first, ...rest] = label.split(" ");
  let word = first;
  if (/[бвгджзклмнпрстфхцчшщ]$/i.test(word)) word += "а";
  else if (/[йь]$/i.test(word)) word = `${word.slice(0, -1)}я`;
  else if (/а$/i.test(word)) word = `${word.slice(0, -1)}у`;
  else if (/я$/i.test(word)) word = `${word.slice(0, -1)}ю`;
  return [word, ...rest].join(" ");
}

export interface PrepareStepProps {
  state: PrepareState;
  onRetry: () => void;
  /** The persona's standard voice as selected now. */
  ttsVoice?: string | null;
  /** The prepared base voice (null: none, or the preparation is stale). */
  baseVoice?: string | null;
  /** Take the base voice instead of the user's pick. */
  onUseBase?: () => void;
  /** Save the persona with the voice again after a failure. */
  onRetrySave?: () => void;
  /** The recorded voice (offers its training once prepared). */
  voiceId?: string | null;
}

function labelOf(voices: StandardVoiceScore[], name: string): string {
  return voices.find((v) => v.name === name)?.label ?? name;
}

function BaseVoice({ state, ttsVoice, baseVoice, onUseBase }: { state: PrepareState; ttsVoice: string | null; baseVoice: string; onUseBase?: () => void }) {
  const voices = state.standardVoices;
  const base = voices.find((v) => v.name === baseVoice);
  const label = base?.label ?? baseVoice;
  const score = base?.matched ?? state.similarity?.matched;
  const scoreText = score === undefined ? "" : ` (сходство ${formatScore(score)})`;
  const used = ttsVoice === baseVoice;
  const current = ttsVoice ? voices.find((v) => v.name === ttsVoice) : undefined;
  const others = voices.filter((v) => v.name !== baseVoice);
  return (
    <div data-testid="voice-base" data-voice={baseVoice} data-used={used} className="flex flex-col gap-2 border-t border-emerald-800/60 pt-2">
      {used ? (
        <span data-testid="voice-base-line">
          Основа голоса: {label} — ближе всего к вашей записи после подстройки{scoreText}.
        </span>
      ) : (
        <>
          <span data-testid="voice-base-line">
            Ближе всего к вашей записи после подстройки — {label}{scoreText}.
            {ttsVoice && (
              <>
                {" "}
                Сейчас выбран голос {current?.label ?? labelOf(voices, ttsVoice)}
                {current ? ` (сходство ${formatScore(current.matched)})` : ""}.
              </>
            )}
          </span>
          {onUseBase && (
            <Button data-testid="voice-base-use" variant="secondary" onClick={onUseBase} className="self-start px-3 py-1">
              Взять {accusative(label)}
            </Button>
          )}
        </>
      )}
      {others.length > 0 && (
        <details data-testid="voice-ranking" className="text-emerald-200/80">
          <summary className="cursor-pointer select-none">Сходство других стандартных голосов после подстройки</summary>
          <ul className="mt-1 flex flex-col gap-0.5 pl-4">
            {others.map((v) => (
              <li key={v.name} data-testid="voice-rank" data-voice={v.name} className="flex justify-between gap-4 sm:max-w-xs">
                <span>{v.label}</span>
                <span className="font-mono">{formatScore(v.matched)}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

export function PrepareStep({ state, onRetry, ttsVoice = null, baseVoice = null, onUseBase, onRetrySave, voiceId = null }: PrepareStepProps) {
  return (
    <div className="flex flex-col gap-5">
      <p className="text-sm text-slate-300">
        Сервер нарезает записи на фразы, выравнивает громкость и подстраивает голос. Это может занять несколько минут — окно можно
        не закрывать, прогресс обновляется сам.
      </p>
      {state.status !== "idle" && (
        <div className="flex flex-col gap-2">
          <div className="flex justify-between gap-2 text-sm">
            <span className="text-slate-200" aria-live="polite">
              {state.message}
            </span>
            <span className="font-mono text-slate-400">{Math.round(state.progress * 100)}%</span>
          </div>
          <ProgressBar
            value={state.progress}
            testId="voice-prepare-progress"
            label="Подготовка голоса"
            tone={state.status === "done" ? "emerald" : state.status === "error" ? "rose" : "indigo"}
          />
        </div>
      )}
      {state.status === "error" && state.error && <ErrorNotice testId="voice-prepare-error" message={state.error} onRetry={onRetry} />}
      {state.status === "done" && (
        <div data-testid="voice-prepare-done" className="flex flex-col gap-1 rounded-lg bg-emerald-950/50 px-4 py-3 text-sm text-emerald-100 ring-1 ring-emerald-800">
          <span>Голос готов.</span>
          {!state.similarity && <span className="text-emerald-200/80">Сходство с образцом не измерено.</span>}
          {state.similarity && (
            <span data-testid="voice-similarity">
              сходство с образцом: {formatScore(state.similarity.matched)} (без подстройки {formatScore(state.similarity.unmatched)})
            </span>
          )}
          {baseVoice && <BaseVoice state={state} ttsVoice={ttsVoice} baseVoice={baseVoice} onUseBase={onUseBase} />}
        </div>
      )}
      {state.status === "done" && state.saveError && (
        <ErrorNotice testId="voice-save-error" message={`Не удалось сохранить голос персонажа: ${state.saveError}`} onRetry={onRetrySave} />
      )}
      {state.status === "done" && voiceId && <TrainingPanel voiceId={voiceId} />}
    </div>
  );
}
