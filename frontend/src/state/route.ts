/** Hash routing: `#/wizard`, `#/talk`, `#/personas`, `#/settings`, with an optional `?query` (no router library needed). */
import { useEffect, useState } from "react";

export type Route = "wizard" | "talk" | "personas" | "settings";
export const ROUTES: readonly Route[] = ["wizard", "talk", "personas", "settings"];

/** The route in the current hash (`#/talk?session=5` is "talk"), or null when the hash names none. */
export function parseRoute(hash: string): Route | null {
  const name = hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : null;
}

/** The query of a hash route: `#/talk?session=5` -> session=5. */
export function routeParams(hash: string): URLSearchParams {
  const at = hash.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
}

/** The hash of a route with its query: `routeHash("talk", {session: 5})` -> `#/talk?session=5`. */
export function routeHash(route: Route, params: Record<string, string | number> = {}): string {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
  return `#/${route}${query ? `?${query}` : ""}`;
}

export function navigate(route: Route, params: Record<string, string | number> = {}): void {
  window.location.hash = routeHash(route, params);
}

/** The current route (null for an empty or unknown hash), following hash changes. */
export function useRoute(): Route | null {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", update);
    update();
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}
