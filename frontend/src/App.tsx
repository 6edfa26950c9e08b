/**
 * The application shell: header (name, tabs, persona switcher) and the screens on hash routes.
 * The wizard stays mounted once opened, so a visit to another screen loses no input (while hidden
 * it holds no camera, microphone or player open).
 */
import type { QueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { AppProviders } from "./api/AppProviders";
import { api, type ApiClient } from "./api/client";
import Conversation from "./conversation/Conversation";
import { Header } from "./Header";
import { PersonasPage } from "./personas/PersonasPage";
import { Settings } from "./settings/Settings";
import { PersonaProvider, usePersona } from "./state/persona";
import { navigate, useRoute } from "./state/route";
import { Wizard } from "./wizard/Wizard";

function Screens() {
  const route = useRoute();
  const { personas, loading } = usePersona();
  const [wizardOpened, setWizardOpened] = useState(route === "wizard");
  const [seenRoute, setSeenRoute] = useState(route);

  // No route yet: talk to the default persona; only an empty persona list starts with the wizard.
  useEffect(() => {
    if (route === null && !loading) navigate(personas.length ? "talk" : "wizard");
  }, [route, loading, personas.length]);

  // Once opened, the wizard stays mounted (hidden on other screens) until it finishes.
  if (route !== seenRoute) {
    setSeenRoute(route);
    if (route === "wizard") setWizardOpened(true);
  }

  return (
    <main className="mx-auto w-full max-w-5xl flex-1 px-3 py-4 sm:px-6 sm:py-6">
      {(wizardOpened || route === "wizard") && (
        <div hidden={route !== "wizard"}>
          <Wizard active={route === "wizard"} onFinished={() => setWizardOpened(false)} />
        </div>
      )}
      {route === "talk" && <Conversation />}
      {route === "personas" && <PersonasPage />}
      {route === "settings" && <Settings />}
    </main>
  );
}

export default function App({ client = api, queryClient }: { client?: ApiClient; queryClient?: QueryClient }) {
  return (
    <AppProviders client={client} queryClient={queryClient}>
      <PersonaProvider>
        <div className="flex min-h-full flex-col">
          <Header />
          <Screens />
        </div>
      </PersonaProvider>
    </AppProviders>
  );
}
