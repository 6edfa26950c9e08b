/** Test helpers: the persona screen wired to an in-process server that keeps personas and facts. */
import { render } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Fact, Persona } from "../api/types";
import { PersonaProvider } from "../state/persona";
import { fact, persona, ttsVoices, voiceInfo, warmup } from "../test/fixtures";
import { TestProviders } from "../test/providers";
import type { TestServer } from "../test/server";
import { PersonasPage } from "./PersonasPage";

export interface PersonaStore {
  personas: Persona[];
  facts: Map<number, Fact[]>;
}

/** Personas (Аня and Олег by default) that GET/PATCH/DELETE change, their facts, voices, warm-ups. */
export function personaServer(server: TestServer, personas: Persona[] = [persona(), persona({ id: 2, name: "Олег", gender: "male", age: 40 })]): PersonaStore {
  const store: PersonaStore = { personas, facts: new Map([[1, [fact("city", "Казань"), fact("pet", "кот Барсик")]]]) };
  server.on("GET /api/personas", () => ({ json: store.personas }));
  server.on("GET /api/tts/voices", { json: ttsVoices() });
  server.on("GET /api/voices", { json: [voiceInfo(), voiceInfo({ id: "v2", name: "Мой голос", usable_s: 95, prepared: true })] });
  for (const p of personas) {
    const path = `/api/personas/${p.id}`;
    server.on(`PATCH ${path}`, (req) => {
      const index = store.personas.findIndex((x) => x.id === p.id);
      store.personas[index] = { ...store.personas[index], ...req.json<Partial<Persona>>() };
      return { json: store.personas[index] };
    });
    server.on(`DELETE ${path}`, () => {
      store.personas = store.personas.filter((x) => x.id !== p.id);
      return { status: 204 };
    });
    server.on(`GET ${path}/facts`, () => ({ json: store.facts.get(p.id) ?? [] }));
    server.on(`GET ${path}/sessions`, { json: [] });
    server.on(`GET ${path}/warmup`, { json: warmup() });
    for (const key of ["city", "pet"]) {
      server.on(`DELETE ${path}/facts/${key}`, () => {
        store.facts.set(p.id, (store.facts.get(p.id) ?? []).filter((f) => f.key !== key));
        return { status: 204 };
      });
    }
  }
  return store;
}

export function renderPersonas(server: TestServer) {
  const user = userEvent.setup();
  const view = render(
    <TestProviders client={server.client}>
      <PersonaProvider>
        <PersonasPage />
      </PersonaProvider>
    </TestProviders>,
  );
  return { user, ...view };
}
