/**
 * A persona's prompt warm-up (the server prepares the persona for quick first answers after it is
 * created or its character changes): a progress bar while it runs, then «готов». Shows nothing while
 * the state is unknown or the server has no warm-up for the persona.
 */
import { usePersonaWarmup } from "../api/queries";
import type { PersonaWarmup } from "../api/types";
import { ProgressBar } from "./ProgressBar";

const FALLBACK: Record<PersonaWarmup["status"], string> = {
  queued: "Персонаж ждёт подготовки к быстрым ответам",
  running: "Готовлю персонажа к быстрым ответам",
  ready: "Персонаж готов отвечать сразу",
  failed: "Не удалось подготовить персонажа заранее: первый ответ будет медленнее",
};

/** The line to show: the server's Russian message (or ours), with the percentage while it runs. */
export function warmupText({ status, progress, message_ru: message }: PersonaWarmup): string {
  const text = message.trim() || FALLBACK[status];
  if (status !== "running") return text;
  return `${text.replace(/[.…]+$/, "")}… ${Math.round(Math.min(1, Math.max(0, progress)) * 100)}%`;
}

export interface PersonaWarmupStatusProps {
  personaId: number | null;
  /** Show nothing once the persona is ready (a screen that only reports work in progress). */
  hideWhenReady?: boolean;
}

export function PersonaWarmupStatus({ personaId, hideWhenReady = false }: PersonaWarmupStatusProps) {
  const { data } = usePersonaWarmup(personaId);
  if (!data || (hideWhenReady && data.status === "ready")) return null;
  const { status, progress } = data;
  const done = status === "ready";
  return (
    <div
      data-testid="persona-warmup"
      data-status={status}
      className={`flex flex-col gap-2 rounded-lg px-4 py-3 text-sm ring-1 ${done ? "bg-emerald-950/50 text-emerald-100 ring-emerald-800" : status === "failed" ? "bg-amber-950/50 text-amber-100 ring-amber-800" : "bg-slate-950/60 text-slate-200 ring-slate-800"}`}
    >
      <span role="status" data-testid="persona-warmup-text">
        {warmupText(data)}
      </span>
      {!done && status !== "failed" && (
        <ProgressBar value={status === "queued" && progress === 0 ? null : progress} label="Подготовка персонажа" testId="persona-warmup-progress" />
      )}
    </div>
  );
}
