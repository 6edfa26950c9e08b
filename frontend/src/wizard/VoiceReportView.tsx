/** The server's quality report of the voice samples: per file, the total and whether it is enough. */
import type { VoiceFileReport, VoiceLevel, VoiceReport } from "../api/types";
import { ProgressBar } from "../components/ProgressBar";
import { formatClock } from "./VoiceRecorder";

const LEVELS: Record<VoiceLevel, { text: (missing: number) => string; className: string; tone: "rose" | "amber" | "emerald" }> = {
  not_enough: {
    text: (missing) => `Мало речи: нужно ещё хотя бы ${formatClock(missing)}.`,
    className: "bg-rose-950/60 text-rose-100 ring-rose-800",
    tone: "rose",
  },
  enough: {
    text: () => "Достаточно для начала. Для лучшего сходства добавьте записей до 5 минут.",
    className: "bg-amber-950/50 text-amber-100 ring-amber-800/70",
    tone: "amber",
  },
  good: {
    text: () => "Отлично: записей хватает для хорошего сходства.",
    className: "bg-emerald-950/60 text-emerald-100 ring-emerald-800",
    tone: "emerald",
  },
};

function num(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "—" : value.toFixed(digits).replace(".", ",");
}

function FileRow({ file }: { file: VoiceFileReport }) {
  return (
    <li data-testid="voice-file" data-accepted={file.accepted} className="flex flex-col gap-1 rounded-lg bg-slate-950/60 p-3 ring-1 ring-slate-800">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <span className="truncate font-medium text-slate-100" title={file.name}>
          {file.accepted ? "✓" : "✕"} {file.name}
        </span>
        <span className={file.accepted ? "text-xs text-emerald-300" : "text-xs text-rose-300"}>
          {file.accepted ? `пригодно ${num(file.usable_s)} с из ${num(file.duration_s)} с` : "не подходит"}
        </span>
      </div>
      <dl className="grid grid-cols-2 gap-x-4 gap-y-0.5 text-xs text-slate-400 sm:grid-cols-4">
        <div>
          <dt className="inline">Громкость: </dt>
          <dd className="inline text-slate-200">{num(file.loudness_lufs)} LUFS</dd>
        </div>
        <div>
          <dt className="inline">Пик: </dt>
          <dd className="inline text-slate-200">{num(file.peak_dbfs)} дБFS</dd>
        </div>
        <div>
          <dt className="inline">Клиппинг: </dt>
          <dd className="inline text-slate-200">{num(file.clipping_pct, 2)} %</dd>
        </div>
        <div>
          <dt className="inline">Шум (SNR): </dt>
          <dd className="inline text-slate-200">{num(file.snr_db)} дБ</dd>
        </div>
      </dl>
      {file.problems.length > 0 && (
        <ul className="list-disc pl-5 text-xs text-amber-200">
          {file.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </li>
  );
}

export function VoiceReportView({ report, rejected }: { report: VoiceReport | null; rejected: VoiceFileReport[] }) {
  if (!report && !rejected.length) return null;
  const level = report?.level ?? "not_enough";
  const info = LEVELS[level] ?? LEVELS.not_enough;
  const usable = report?.usable_s ?? 0;
  const minS = report?.min_s ?? 30;
  const targetS = report?.target_s ?? 300;
  return (
    <section data-testid="voice-report" aria-label="Качество записей" className="flex flex-col gap-3">
      <div data-testid="voice-enough" data-level={level} className={`flex flex-col gap-2 rounded-lg px-4 py-3 text-sm ring-1 ${info.className}`}>
        <div className="flex flex-wrap justify-between gap-2">
          <span>{info.text(Math.max(0, minS - usable))}</span>
          <span className="font-mono">
            {formatClock(usable)} из {formatClock(targetS)}
          </span>
        </div>
        <ProgressBar value={usable / targetS} marker={minS / targetS} tone={info.tone} label="Пригодная речь до 5 минут" />
      </div>
      {report && report.files.length > 0 && (
        <ul className="flex flex-col gap-2">
          {report.files.map((file, i) => (
            <FileRow key={`${i}-${file.name}`} file={file} />
          ))}
        </ul>
      )}
      {rejected.length > 0 && (
        <div className="flex flex-col gap-2">
          <h3 className="text-sm text-rose-200">Последние файлы не приняты:</h3>
          <ul className="flex flex-col gap-2">
            {rejected.map((file, i) => (
              <FileRow key={`r${i}-${file.name}`} file={file} />
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
