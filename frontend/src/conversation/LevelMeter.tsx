/** The microphone's live level (data-level 0..1 for tests and the browser check). */

import { useEffect, useState } from "react";
import type { MicSource } from "../media/micSource";

/** The level of `mic` while `active` (0 otherwise). */
export function useMicLevel(mic: MicSource, active: boolean): number {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    if (!active) return;
    const off = mic.onLevel(setLevel);
    return () => {
      off();
      setLevel(0);
    };
  }, [mic, active]);
  return active ? level : 0;
}

export function LevelMeter({ level, className = "w-24" }: { level: number; className?: string }) {
  const value = Math.max(0, Math.min(1, level));
  return (
    <div
      data-testid="mic-level"
      data-level={value.toFixed(3)}
      role="meter"
      aria-label="Уровень микрофона"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(value * 100)}
      className={`h-2 overflow-hidden rounded-full bg-slate-800 ${className}`}
    >
      <div className="h-full rounded-full bg-emerald-400 transition-[width] duration-75" style={{ width: `${Math.round(value * 100)}%` }} />
    </div>
  );
}
