/**
 * The application shell: header (name, tabs, persona switcher) and the three screens on hash
 * routes. The wizard stays mounted once opened, so a visit to another screen loses no input.
 */
import { useEffect, useState } from "react";
import { api, type ApiClient } from "./api/client";
import { ApiProvider } from "./api/context";
import Conversation from "./conversation/Conversation";
import { Header } from "./Header";
import { Settings } from "./settings/Settings";
import { PersonaProvider, usePersona } from "./state/persona";
import { navigate, useRoute } from "./state/route";
import { Wizard } from "./wizard/Wizard";

function Screens() {
  const route = useRoute();
  const { personas, loading } = usePersona();
  const [wizardOpened, setWizardOpened] = useState(false);

  // No route yet: talk to the default persona; only an empty persona list starts with the wizard.
  useEffect(() => {
    if (route === null && !loading) navigate(personas.length ? "talk" : "wizard");
  }, [route, loading, personas.length]);

  useEffect(() => {
    if (route === "wizard") setWizardOpened(true);
  }, [route]);

  return (
    <main className="mx-auto w-full max-w-5xl flex-1 px-3 py-4 sm:px-6 sm:py-6">
      {(wizardOpened || route === "wizard") && (
        <div hidden={route !== "wizard"}>
          <Wizard onFinished={() => setWizardOpened(false)} />
        </div>
      )}
      {route === "talk" && <Conversation />}
      {route === "settings" && <Settings />}
    </main>
  );
}

export default function App({ client = api }: { client?: ApiClient }) {
  return (
    <ApiProvider client={client}>
      <PersonaProvider>
        <div className="flex min-h-full flex-col">
          <Header />
          <Screens />
        </div>
      </PersonaProvider>
    </ApiProvider>
  );
}
