// End-to-end: a voice's training started from the persona screen in Debian's Chromium, against a real
// server that can train (the CPU tests force it, with the reduced XTTS checkpoint). The flow clicks
// «Обучить голос», sees the progress bar move, reloads the page mid-training (the job and its progress
// are still there), and waits for the verdict. Screenshots go to --out.
//
//   node e2e/training.mjs --url http://127.0.0.1:8000 --out ../out/e2e/training
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS, DESKTOP } from "./lib/browser.mjs";
import { guardConsole } from "./lib/consoleGuard.mjs";
import { Report, log } from "./lib/report.mjs";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" }, out: { type: "string", default: "e2e-out" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    timeout: { type: "string", default: "540000" },
  },
});
if (!args.url) throw new Error("--url is required");
mkdirSync(args.out, { recursive: true });
const timeout = Number(args.timeout);

const report = new Report();
const browser = await chromium.launch({ executablePath: args.chromium, args: CHROMIUM_FLAGS });
const page = await (await browser.newContext({ ...DESKTOP, locale: "ru-RU" })).newPage();
guardConsole(page, report);

/** The progress bar's value now (null: no bar on the page). */
async function barValue() {
  const bar = page.getByTestId("voice-train-progress");
  if (!(await bar.count())) return null;
  return Number(await bar.getAttribute("aria-valuenow"));
}

try {
  await page.goto(`${args.url}/#/personas`);
  const start = page.getByTestId("voice-train-start");
  await start.waitFor({ timeout: 60_000 });
  log("estimate:", await page.getByTestId("voice-train-estimate").textContent());
  await start.click();
  await page.getByTestId("voice-train-progress").waitFor({ timeout: 30_000 });
  const seen = [];
  const deadline = Date.now() + timeout;
  let reloaded = false;
  while (Date.now() < deadline) {
    if (await page.getByTestId("voice-train-result").count()) break;
    const value = await barValue();
    if (value !== null && value !== seen.at(-1)) {
      seen.push(value);
      log(`progress ${value}%:`, await page.getByTestId("voice-train-message").textContent().catch(() => ""));
    }
    if (!reloaded && (await page.getByTestId("voice-train-details").count())) {
      await page.screenshot({ path: `${args.out}/training.png` });
      reloaded = true;
      const before = value;
      await page.reload(); // leave and come back: the job is on the server
      await page.getByTestId("voice-train-progress").or(page.getByTestId("voice-train-result")).waitFor({ timeout: 30_000 });
      const after = await barValue();
      report.expect(after === null || after >= before, "resume-view", `after a reload the bar shows ${after}%, before ${before}%`);
      log(`reloaded: the bar shows ${after}%`);
    }
    await page.waitForTimeout(200);
  }
  const result = page.getByTestId("voice-train-result");
  await result.waitFor({ timeout: 5_000 });
  log("result:", await result.textContent(), "used:", await result.getAttribute("data-used"));
  const moved = seen.filter((v, i) => i > 0 && v > seen[i - 1]).length;
  report.expect(moved >= 2, "progress", `the bar should move at least twice, saw ${JSON.stringify(seen)}`);
  report.expect(reloaded, "reload", "never saw the training details to reload on");
  await page.screenshot({ path: `${args.out}/training-done.png` });
} catch (err) {
  report.fail("flow", String(err.stack || err));
  await page.screenshot({ path: `${args.out}/failure.png` }).catch(() => {});
} finally {
  await browser.close();
}
log(`training: ${report.summary()}`);
console.log(report.ok ? "[e2e] OK" : "[e2e] FAILED");
process.exitCode = report.ok ? 0 : 1;
