// Installed before the app's scripts (context.addInitScript): records every `muted = true` the page
// assigns to a media element and every play() the browser refuses, so the test can tell that the
// avatar was not silenced by the player (e.g. an autoplay fallback that mutes).

export function installMediaHooks() {
  const record = { mutes: [], playFailures: [] };
  Object.defineProperty(window, "__e2eMedia", { value: record });
  const proto = HTMLMediaElement.prototype;
  const name = (el) => el.dataset?.testid || el.tagName.toLowerCase();
  const muted = Object.getOwnPropertyDescriptor(proto, "muted");
  Object.defineProperty(proto, "muted", {
    ...muted,
    set(value) {
      if (value) {
        const stack = String(new Error().stack || "").split("\n").slice(2, 5).map((l) => l.trim()).join(" < ");
        record.mutes.push({ t: performance.now(), element: name(this), stack });
      }
      muted.set.call(this, value);
    },
  });
  const play = proto.play;
  proto.play = function playRecorded() {
    const attempt = play.call(this);
    // a second handler on the same promise; the app still sees the rejection (only Chromium's
    // "Uncaught (in promise)" report of a play() the app ignores is lost: the failure is listed here)
    attempt?.then?.(undefined, (error) => {
      record.playFailures.push({ t: performance.now(), element: name(this), name: error?.name, message: error?.message });
    });
    return attempt;
  };
}


/** What the hooks recorded so far. */
export function mediaRecord(page) {
  return page.evaluate(() => window.__e2eMedia ?? { mutes: [], playFailures: [] });
}
