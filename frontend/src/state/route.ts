/** Hash routing: `#/wizard`, `#/talk`, `#/settings` (no router library needed). */
import { useEffect, useState } from "react";

export type Route = "wizard" | "talk" | "settings";
export const ROUTES: readonly Route[] = ["wizard", "talk", "settings"];

/** The route in the current hash, or null when the hash names none. */
export function parseRoute(hash: string): Route | null {
  const name = hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : null;
}

export function navigate(route: Route): void {
  window.location.hash = `#/${route}`;
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
