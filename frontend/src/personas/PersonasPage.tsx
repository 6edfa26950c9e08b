/**
 * «Персонажи»: every persona, and for the one picked its photo, voice, character, what it learnt
 * about the user, its conversations, and deletion. Picking a persona here selects it in the app.
 */
import { useState } from "react";
import { Button } from "../components/Button";
import { PersonaWarmupStatus } from "../components/PersonaWarmupStatus";
import { usePersona } from "../state/persona";
import { navigate } from "../state/route";
import { CharacterEditor } from "./CharacterEditor";
import { DeletePersona, TITLE_ID } from "./DeletePersona";
import { FactsList } from "./FactsList";
import { PhotoEditor } from "./PhotoEditor";
import { Section } from "./Section";
import { SessionsList } from "./SessionsList";
import { StudioRender } from "./StudioRender";
import { VoiceEditor } from "./VoiceEditor";

export function PersonasPage() {
  const { personas, persona, select, loading, error } = usePersona();
  // the persona whose character was just saved: its warm-up shows under the form, and says when it is
  // ready; otherwise it shows at the top while it runs
  const [edited, setEdited] = useState<number | null>(null);

  return (
    <section data-testid="personas" aria-labelledby={TITLE_ID} className="flex min-w-0 flex-col gap-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 id={TITLE_ID} tabIndex={-1} className="text-lg font-semibold text-white focus:outline-none">
          Персонажи
        </h1>
        <Button variant="secondary" onClick={() => navigate("wizard")}>
          Новый персонаж
        </Button>
      </div>
      {loading && <p className="text-sm text-slate-400">Загрузка…</p>}
      {error && <p className="text-sm text-rose-300">{error}</p>}
      {personas.length > 0 && (
        <nav aria-label="Список персонажей">
          <ul className="flex flex-wrap gap-2">
            {personas.map((p) => (
              <li key={p.id}>
                <button
                  type="button"
                  data-testid="persona-pick"
                  aria-current={p.id === persona?.id ? "true" : undefined}
                  onClick={() => select(p.id)}
                  className="rounded-lg px-3 py-1.5 text-sm text-slate-200 ring-1 ring-slate-700 hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-400 aria-[current=true]:bg-indigo-500 aria-[current=true]:text-white aria-[current=true]:ring-indigo-400"
                >
                  {p.name}
                </button>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {persona && (
        <div key={persona.id} data-testid="persona-editor" data-persona={persona.id} className="grid min-w-0 items-start gap-4 lg:grid-cols-2">
          {edited !== persona.id && (
            <div className="empty:hidden lg:col-span-2">
              <PersonaWarmupStatus personaId={persona.id} hideWhenReady />
            </div>
          )}
          <Section id="persona-photo-title" title="Фото">
            <PhotoEditor persona={persona} />
          </Section>
          <Section id="persona-voice-title" title="Голос">
            <VoiceEditor persona={persona} />
          </Section>
          <Section id="persona-character-title" title="Характер" className="lg:col-span-2">
            <CharacterEditor persona={persona} showWarmup={edited === persona.id} onSaved={(saved) => setEdited(saved ? persona.id : null)} />
          </Section>
          <Section id="persona-studio-title" title="Студийная запись" className="lg:col-span-2"><StudioRender persona={persona} /></Section>
          <Section id="persona-facts-title" title="Что я о тебе знаю">
            <FactsList personaId={persona.id} />
          </Section>
          <Section id="persona-sessions-title" title="Разговоры">
            <SessionsList persona={persona} />
          </Section>
          <Section id="persona-delete-title" title="Удаление" className="lg:col-span-2">
            <DeletePersona persona={persona} />
          </Section>
        </div>
      )}
    </section>
  );
}
