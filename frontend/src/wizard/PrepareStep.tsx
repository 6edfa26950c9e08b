/** Step 4: the server prepares the voice (a job); a real progress bar, then the similarity score. */
import { ErrorNotice } from "../components/ErrorNotice";
import { ProgressBar } from "../components/ProgressBar";
import type { PrepareState } from "./state";

export function formatScore(value: number): string {
  return value.toFixed(2);
}

export function PrepareStep({ state, onRetry }: { state: PrepareState; onRetry: () => void }) {
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
        </div>
      )}
    </div>
  );
}
