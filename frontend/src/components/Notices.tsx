/** Server notices (fallbacks to lighter engines etc.), in Russian as the server sends them. */
export function Notices({ notices, testId = "notices" }: { notices: string[]; testId?: string }) {
  if (!notices.length) return null;
  return (
    <ul data-testid={testId} className="flex flex-col gap-2" aria-label="Уведомления сервера">
      {notices.map((notice, i) => (
        <li key={`${i}-${notice}`} className="rounded-lg bg-amber-950/50 px-4 py-2 text-sm text-amber-100 ring-1 ring-amber-800/70">
          {notice}
        </li>
      ))}
    </ul>
  );
}
