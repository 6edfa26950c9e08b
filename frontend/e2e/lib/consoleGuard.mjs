// Console errors and uncaught page errors fail the run. Only messages that no code of ours can cause
// or fix are allowed, each with the reason.
import { log } from "./report.mjs";

/** @type {{ pattern: RegExp, why: string }[]} */
export const ALLOWED_CONSOLE_ERRORS = [
  // (none so far: add an entry only with the reason it is outside the app's and the server's control)
];

function allowed(text) {
  return ALLOWED_CONSOLE_ERRORS.find((a) => a.pattern.test(text));
}

export function guardConsole(page, report) {
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const where = message.location();
    const text = `${message.text()}${where?.url ? ` (${where.url}:${where.lineNumber})` : ""}`;
    const allow = allowed(text);
    if (allow) log(`console error (allowed: ${allow.why}):`, text);
    else report.fail("console", text);
  });
  page.on("pageerror", (error) => report.fail("pageerror", String(error.stack || error.message || error).slice(0, 800)));
}
