import { createContext, useContext, type ReactNode } from "react";
import { api, type ApiClient } from "./client";

const ApiContext = createContext<ApiClient>(api);

/** Provides the API client (tests pass one pointed at their own server). */
export function ApiProvider({ client, children }: { client: ApiClient; children: ReactNode }) {
  return <ApiContext.Provider value={client}>{children}</ApiContext.Provider>;
}

/** The API client of the nearest ApiProvider, else the page's own server. */
export function useApi(): ApiClient {
  return useContext(ApiContext);
}
