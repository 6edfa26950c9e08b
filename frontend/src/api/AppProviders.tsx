import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import type { ApiClient } from "./client";
import { ApiProvider } from "./context";
import { createQueryClient } from "./queries";

export interface AppProvidersProps {
  /** The REST client (tests pass one pointed at their own server). */
  client: ApiClient;
  /** The query cache; by default a new one for this tree (createQueryClient). */
  queryClient?: QueryClient;
  children: ReactNode;
}

/** What every screen needs above it: the API client and the query cache of its REST state. */
export function AppProviders({ client, queryClient, children }: AppProvidersProps) {
  const [cache] = useState(() => queryClient ?? createQueryClient());
  return (
    <ApiProvider client={client}>
      <QueryClientProvider client={cache}>{children}</QueryClientProvider>
    </ApiProvider>
  );
}
