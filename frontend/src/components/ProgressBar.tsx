export interface ProgressBarProps {
  /** 0..1; null shows an indeterminate bar. */
  value: number | null;
  label: string;
  testId?: string;
  /** Optional marker (0..1), e.g. the minimum needed. */
  marker?: number;
  tone?: "indigo" | "amber" | "emerald" | "rose";
  className?: string;
}

const TONES = { indigo: "bg-indigo-400", amber: "bg-amber-400", emerald: "bg-emerald-400", rose: "bg-rose-400" };

/** An accessible progress bar (role=progressbar, aria-valuenow 0..100). */
export function ProgressBar({ value, label, testId, marker, tone = "indigo", className = "" }: ProgressBarProps) {
  const percent = value === null ? null : Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent ?? undefined}
      data-testid={testId}
      className={`relative h-2.5 w-full overflow-hidden rounded-full bg-slate-800 ${className}`}
    >
      {percent === null ? (
        <div className={`absolute inset-y-0 w-1/3 animate-pulse rounded-full ${TONES[tone]}`} />
      ) : (
        <div className={`h-full rounded-full transition-[width] duration-300 ${TONES[tone]}`} style={{ width: `${percent}%` }} />
      )}
      {marker !== undefined && (
        <div className="absolute inset-y-0 w-0.5 bg-slate-200/70" style={{ left: `${Math.min(100, marker * 100)}%` }} aria-hidden />
      )}
    </div>
  );
}
