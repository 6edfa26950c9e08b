/**
 * The selected persona, shared by the header's switcher, the wizard and the conversation.
 * The id is remembered in localStorage ("avatar.personaId").
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useApi } from "../api/context";
import { describeError } from "../api/errors";
import type { Persona } from "../api/types";

export const PERSONA_KEY = "avatar.personaId";

export interface PersonaState {
  /** All personas, oldest first (as the server lists them). */
  personas: Persona[];
  /** The selected persona (the first one when nothing valid is remembered), null while loading. */
  persona: Persona | null;
  personaId: number | null;
  loading: boolean;
  /** Russian error text when the list could not be loaded. */
  error: string | null;
  /** Select a persona (remembered across reloads). */
  select: (id: number) => void;
  /** Reload the list (after creating/editing a persona). */
  refresh: () => Promise<Persona[]>;
}

const PersonaContext = createContext<PersonaState | null>(null);

function rememberedId(): number | null {
  try {
    const raw = window.localStorage.getItem(PERSONA_KEY);
    const id = raw ? Number(raw) : NaN;
    return Number.isInteger(id) ? id : null;
  } catch {
    return null;
  }
}

export function PersonaProvider({ children }: { children: ReactNode }) {
  const client = useApi();
  const [personas, setPersonas] = useState<Persona[]>([]);
  const [chosen, setChosen] = useState<number | null>(rememberedId);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const alive = useRef(true);

  const refresh = useCallback(async () => {
    setLoading(true);
    try {
      const list = await client.listPersonas();
      if (alive.current) {
        setPersonas(list);
        setError(null);
      }
      return list;
    } catch (err) {
      if (alive.current) setError(describeError(err));
      return [];
    } finally {
      if (alive.current) setLoading(false);
    }
  }, [client]);

  useEffect(() => {
    alive.current = true;
    void refresh();
    return () => {
      alive.current = false;
    };
  }, [refresh]);

  const select = useCallback((id: number) => {
    setChosen(id);
    try {
      window.localStorage.setItem(PERSONA_KEY, String(id));
    } catch {
      /* private mode: selection lasts for this page only */
    }
  }, []);

  const value = useMemo<PersonaState>(() => {
    const persona = personas.find((p) => p.id === chosen) ?? personas[0] ?? null;
    return { personas, persona, personaId: persona?.id ?? null, loading, error, select, refresh };
  }, [personas, chosen, loading, error, select, refresh]);

  return <PersonaContext.Provider value={value}>{children}</PersonaContext.Provider>;
}

/** The selected persona and the list; must be used under <PersonaProvider>. */
export function usePersona(): PersonaState {
  const state = useContext(PersonaContext);
  if (!state) throw new Error("usePersona() must be used inside <PersonaProvider>");
  return state;
}
