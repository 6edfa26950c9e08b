import { Button } from "./Button";

export interface ErrorNoticeProps {
  message: string;
  testId?: string;
  onRetry?: () => void;
  retryLabel?: string;
}

/** A Russian error message, announced to screen readers, with an optional retry button. */
export function ErrorNotice({ message, testId, onRetry, retryLabel = "Повторить" }: ErrorNoticeProps) {
  return (
    <div role="alert" data-testid={testId} className="flex flex-wrap items-center gap-3 rounded-lg bg-rose-950/60 px-4 py-3 text-sm text-rose-100 ring-1 ring-rose-800">
      <span className="flex-1">{message}</span>
      {onRetry && (
        <Button variant="secondary" onClick={onRetry}>
          {retryLabel}
        </Button>
      )}
    </div>
  );
}
