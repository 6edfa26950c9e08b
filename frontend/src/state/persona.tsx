/**
 * The selected persona, shared by the header's switcher, the wizard and the conversation.
 * The list is the `personas` query (api/queries.ts); the chosen id is remembered in localStorage
 * ("avatar.personaId").
 */
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { useApi } from "../api/context";
import { describeError } from "../api/errors";
import { personasQuery, usePersonas } from "../api/queries";
import type { Persona } from "../api/types";

export const PERSONA_KEY = "avatar.personaId";

export interface PersonaState {
  /** All personas, oldest first (as the server lists them). */
  personas: Persona[];
  /** The selected persona (the first one when nothing valid is remembered), null while loading. */
  persona: Persona | null;
  personaId: number | null;
  /** The list has not arrived yet (nor failed). */
  loading: boolean;
  /** Russian error text when the list could not be loaded. */
  error: string | null;
  /** Select a persona (remembered across reloads). */
  select: (id: number) => void;
  /** Load the list again now (a failed load's retry; after a persona was created or changed). */
  refresh: () => Promise<Persona[]>;
}

const PersonaContext = createContext<PersonaState | null>(null);
const NO_PERSONAS: Persona[] = [];

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
  const queryClient = useQueryClient();
  const query = usePersonas();
  const [chosen, setChosen] = useState<number | null>(rememberedId);

  const refresh = useCallback(async () => {
    try {
      return await queryClient.fetchQuery({ ...personasQuery(client), staleTime: 0 });
    } catch {
      return []; // the query holds the error, shown by whoever reads `error`
    }
  }, [client, queryClient]);

  const select = useCallback((id: number) => {
    setChosen(id);
    try {
      window.localStorage.setItem(PERSONA_KEY, String(id));
    } catch {
      /* private mode: selection lasts for this page only */
    }
  }, []);

  const personas = query.data ?? NO_PERSONAS;
  const error = query.error && !query.data ? describeError(query.error) : null;
  const loading = query.isPending;
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
