import { usePersona } from "./state/persona";
import { navigate, useRoute, type Route } from "./state/route";

const TABS: { route: Route; label: string }[] = [
  { route: "wizard", label: "Мастер" },
  { route: "talk", label: "Разговор" },
  { route: "personas", label: "Персонажи" },
  { route: "settings", label: "Настройки" },
];

/** App name, screen tabs, persona switcher and the way to the wizard. */
export function Header() {
  const route = useRoute();
  const { personas, personaId, select, error } = usePersona();

  return (
    <header className="sticky top-0 z-10 border-b border-slate-800 bg-slate-950/90 backdrop-blur">
      <div className="mx-auto flex w-full max-w-5xl flex-wrap items-center gap-x-4 gap-y-2 px-3 py-2.5 sm:px-6">
        <a href="#/talk" className="flex items-center gap-2 text-base font-semibold tracking-tight text-white">
          <span className="inline-block h-6 w-6 rounded-full bg-gradient-to-br from-indigo-400 to-fuchsia-400" aria-hidden />
          Аватар
        </a>
        <nav aria-label="Разделы" className="order-3 flex w-full gap-1 sm:order-none sm:w-auto">
          {TABS.map((tab) => (
            <a
              key={tab.route}
              href={`#/${tab.route}`}
              aria-current={route === tab.route ? "page" : undefined}
              className="flex-1 rounded-lg px-2 py-1.5 text-center text-sm sm:px-3 text-slate-300 hover:bg-slate-800 hover:text-white aria-[current=page]:bg-slate-800 aria-[current=page]:text-white sm:flex-none"
            >
              {tab.label}
            </a>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-2">
          <label htmlFor="persona-select" className="sr-only">
            Персонаж
          </label>
          <select
            id="persona-select"
            data-testid="persona-select"
            value={personaId ?? ""}
            onChange={(e) => select(Number(e.target.value))}
            disabled={!personas.length}
            title={error ?? undefined}
            className="max-w-[11rem] rounded-lg bg-slate-900 px-2 py-1.5 text-sm text-slate-100 ring-1 ring-slate-700 focus:outline-none focus:ring-2 focus:ring-indigo-400"
          >
            {!personas.length && <option value="">{error ? "Нет связи" : "Загрузка…"}</option>}
            {personas.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
          {route !== "wizard" && (
            <button
              type="button"
              onClick={() => navigate("wizard")}
              aria-label="Создать своего аватара"
              className="rounded-lg bg-indigo-500 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-400"
            >
              <span className="hidden sm:inline" aria-hidden>Создать своего аватара</span>
              <span className="sm:hidden" aria-hidden>Создать</span>
            </button>
          )}
        </div>
      </div>
    </header>
  );
}
