// The persona warm-up indicator of the wizard (data-testid persona-warmup, data-status
// queued|running|ready|failed), followed in the background while the wizard goes on.
import { log } from "./report.mjs";

export function watchWarmup(page) {
  const seen = [];
  let stopped = false;
  const poll = (async () => {
    while (!stopped) {
      const status = await page.evaluate(() => document.querySelector('[data-testid="persona-warmup"]')?.dataset.status ?? null).catch(() => null);
      if (status && seen[seen.length - 1] !== status) {
        seen.push(status);
        log("persona warm-up:", status);
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  })();
  return {
    /** Stop following; a failed warm-up is a failure, a missing indicator is logged. */
    async finish(report) {
      stopped = true;
      await poll;
      if (!seen.length) log("persona warm-up: no [data-testid=persona-warmup] shown");
      else log("persona warm-up statuses:", seen.join(" -> "));
      report.expect(!seen.includes("failed"), "warmup", `persona warm-up failed (statuses ${seen.join(" -> ")})`);
      return seen;
    },
  };
}
