/**
 * Before the first conversation of a page load: one click that lets the browser play the avatar
 * with sound and asks for the microphone, then starts (the greeting plays only after it).
 */

import { LevelMeter } from "./LevelMeter";

/** idle: waiting for the click; mic: asking for the microphone; joining: `start` sent, waiting for `ready`. */
export type LobbyPhase = "idle" | "mic" | "joining";

export interface LobbyProps {
  personaName: string;
  photo?: string;
  phase: LobbyPhase;
  /** Continuing an earlier conversation (no greeting). */
  returning: boolean;
  /** The microphone's level once it is open, else null. */
  level: number | null;
  /** Why the microphone cannot be used (refused, missing). */
  micProblem: string | null;
  onStart: () => void;
}

export function Lobby({ personaName, photo, phase, returning, level, micProblem, onStart }: LobbyProps) {
  return (
    <div
      data-testid="lobby"
      data-phase={phase}
      className="absolute inset-0 flex flex-col items-center justify-center gap-3 bg-slate-950/75 p-4 text-center backdrop-blur-sm"
    >
      {photo ? (
        <img src={photo} alt="" className="h-20 w-20 rounded-full object-cover ring-2 ring-indigo-400/60 sm:h-28 sm:w-28" />
      ) : (
        <span className="flex h-20 w-20 items-center justify-center rounded-full bg-slate-800 text-3xl sm:h-28 sm:w-28" aria-hidden>
          {personaName.slice(0, 1)}
        </span>
      )}
      <h3 className="text-xl font-semibold text-white">{personaName}</h3>
      <p className="max-w-xs text-sm text-slate-300">
        {returning ? "Продолжим с того места, где остановились. " : ""}Микрофон нужен, чтобы аватар вас слышал.
      </p>
      {phase === "idle" ? (
        <button
          type="button"
          data-testid="lobby-start"
          onClick={onStart}
          className="rounded-full bg-indigo-500 px-6 py-3 text-base font-semibold text-white shadow-lg hover:bg-indigo-400 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-300"
        >
          Начать разговор
        </button>
      ) : (
        <div className="flex flex-col items-center gap-2 text-sm text-slate-300" role="status">
          <span>{phase === "mic" ? "Разрешите доступ к микрофону…" : "Подключаемся…"}</span>
          {level !== null && (
            <span className="flex items-center gap-2">
              Микрофон: <LevelMeter level={level} className="w-28" />
            </span>
          )}
        </div>
      )}
      {micProblem && (
        <p role="alert" data-testid="lobby-mic-problem" className="max-w-xs text-sm text-amber-200">
          {micProblem}
        </p>
      )}
    </div>
  );
}
