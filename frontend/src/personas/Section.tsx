import type { ReactNode } from "react";
import { Card } from "../components/Card";

/** A titled panel of the persona screen. */
export function Section({ id, title, children, className = "" }: { id: string; title: string; children: ReactNode; className?: string }) {
  return (
    <Card className={`flex min-w-0 flex-col gap-4 ${className}`} role="region" aria-labelledby={id}>
      <h2 id={id} className="text-base font-medium text-white">
        {title}
      </h2>
      {children}
    </Card>
  );
}
