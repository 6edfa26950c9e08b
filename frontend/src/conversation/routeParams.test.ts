import { describe, expect, it } from "vitest";
import { parseTalkRequest, takeTalkRequest } from "./routeParams";

describe("talk route parameters", () => {
  it("reads ?session= and ?new=1", () => {
    expect(parseTalkRequest("#/talk?session=123")).toEqual({ kind: "session", sessionId: 123 });
    expect(parseTalkRequest("#/talk?new=1")).toEqual({ kind: "new" });
    expect(parseTalkRequest("#talk?new=1")).toEqual({ kind: "new" });
    expect(parseTalkRequest("#/talk")).toBeNull();
    expect(parseTalkRequest("#/talk?session=abc")).toBeNull();
    expect(parseTalkRequest("#/talk?new=0")).toBeNull();
    expect(parseTalkRequest("#/settings?session=1")).toBeNull();
  });

  it("takes the request once and cleans the hash back to #/talk", () => {
    window.location.hash = "#/talk?session=7";
    expect(takeTalkRequest()).toEqual({ kind: "session", sessionId: 7 });
    expect(window.location.hash).toBe("#/talk");
    expect(takeTalkRequest()).toBeNull();
  });
});
