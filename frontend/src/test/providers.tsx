/** Render helpers: a component under the app's providers, with a fresh query cache per render. */
import { QueryClient } from "@tanstack/react-query";
import { render, type RenderOptions } from "@testing-library/react";
import { useState, type ReactElement, type ReactNode } from "react";
import { AppProviders } from "../api/AppProviders";
import type { ApiClient } from "../api/client";

/** A cache for one test: no retries (errors show at once), nothing collected on a timer. */
export function testQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry: false, gcTime: Infinity, refetchOnWindowFocus: false }, mutations: { retry: false } },
  });
}

export function TestProviders({ client, children }: { client: ApiClient; children: ReactNode }) {
  const [queryClient] = useState(testQueryClient);
  return (
    <AppProviders client={client} queryClient={queryClient}>
      {children}
    </AppProviders>
  );
}

/** `render(ui)` under AppProviders with `client` and a new test cache. */
export function renderWithProviders(ui: ReactElement, client: ApiClient, options?: Omit<RenderOptions, "wrapper">) {
  return render(ui, { ...options, wrapper: ({ children }) => <TestProviders client={client}>{children}</TestProviders> });
}
