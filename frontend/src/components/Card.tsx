import type { HTMLAttributes } from "react";

/** A calm rounded panel. */
export function Card({ className = "", ...rest }: HTMLAttributes<HTMLDivElement>) {
  return <div className={`rounded-2xl bg-slate-900/80 p-4 ring-1 ring-slate-800 sm:p-6 ${className}`} {...rest} />;
}
