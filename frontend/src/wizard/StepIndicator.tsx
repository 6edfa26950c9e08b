import { STEPS, type StepId } from "./state";

export interface StepIndicatorProps {
  current: StepId;
  /** Steps that do not apply (e.g. voice preparation without a voice). */
  skipped: StepId[];
  onSelect?: (step: StepId) => void;
}

/** Numbered steps: done ones can be revisited, the current one is highlighted. */
export function StepIndicator({ current, skipped, onSelect }: StepIndicatorProps) {
  const currentIndex = STEPS.findIndex((s) => s.id === current);
  return (
    <ol className="flex items-center gap-1 sm:gap-2" aria-label="Шаги мастера" data-testid="wizard-steps">
      {STEPS.map((step, i) => {
        const done = i < currentIndex;
        const isSkipped = skipped.includes(step.id);
        const state = i === currentIndex ? "current" : done ? "done" : "todo";
        return (
          <li key={step.id} className="flex flex-1 items-center gap-1 sm:gap-2" data-state={state} aria-current={i === currentIndex ? "step" : undefined}>
            <button
              type="button"
              disabled={!done || isSkipped || !onSelect}
              onClick={() => onSelect?.(step.id)}
              className="flex min-w-0 items-center gap-2 rounded-lg px-1 py-1 text-left disabled:cursor-default"
              title={isSkipped ? `${step.title}: пропущен` : step.title}
            >
              <span
                className={`flex h-7 w-7 shrink-0 items-center justify-center rounded-full text-xs font-semibold ${
                  state === "current" ? "bg-indigo-500 text-white" : done ? "bg-emerald-600/80 text-white" : "bg-slate-800 text-slate-400"
                } ${isSkipped ? "opacity-40" : ""}`}
              >
                {done && !isSkipped ? "✓" : i + 1}
              </span>
              <span className={`hidden truncate text-xs md:inline ${state === "current" ? "text-white" : "text-slate-400"} ${isSkipped ? "line-through" : ""}`}>
                {step.title}
              </span>
            </button>
            {i < STEPS.length - 1 && <span className="h-px flex-1 bg-slate-800" aria-hidden />}
          </li>
        );
      })}
    </ol>
  );
}
