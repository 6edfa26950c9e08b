// Logging and the run's verdict. A hard failure (the flow cannot go on) throws; a check that can be
// judged without stopping the flow (console errors, accessibility, audio, frames) is recorded with
// `fail` so that one run reports every problem at once. The run passes only when nothing was recorded.

const started = performance.now();

export function log(...parts) {
  console.log(`[e2e ${((performance.now() - started) / 1000).toFixed(1)}s]`, ...parts);
}

export class Report {
  /** @type {{ check: string, message: string }[]} */
  failures = [];

  /** Record a failed check (the flow goes on). */
  fail(check, message) {
    this.failures.push({ check, message });
    console.log(`[e2e] FAIL ${check}: ${message}`);
  }

  /** Record `message` as a failure of `check` unless `ok`; returns `ok`. */
  expect(ok, check, message) {
    if (!ok) this.fail(check, message);
    return ok;
  }

  get ok() {
    return this.failures.length === 0;
  }

  summary() {
    if (this.ok) return "all checks passed";
    return `${this.failures.length} failed check(s):\n` + this.failures.map((f) => `  - [${f.check}] ${f.message}`).join("\n");
  }
}
