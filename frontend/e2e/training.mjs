// End-to-end: a voice's training started from the persona screen in Debian's Chromium, against a real
// server that can train (the CPU tests force it, with the reduced XTTS checkpoint). The flow clicks
// «Обучить голос», sees the progress bar move, reloads the page mid-training (the job and its progress
// are still there), and waits for the verdict. The progress must come over the jobs socket: the page's
// WebSocket frames are read for "/jobs" `job` events, and the status must not be polled meanwhile.
// With --pause, the panel must show the run paused (a conversation needs its GPU memory) at some point.
// Screenshots go to --out.
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
    pause: { type: "boolean", default: false }, // expect the run to pause for a conversation meanwhile
  },
});
if (!args.url) throw new Error("--url is required");
mkdirSync(args.out, { recursive: true });
const timeout = Number(args.timeout);

const report = new Report();
const browser = await chromium.launch({ executablePath: args.chromium, args: CHROMIUM_FLAGS });
const page = await (await browser.newContext({ ...DESKTOP, locale: "ru-RU" })).newPage();
guardConsole(page, report);

// what the page receives on the "/jobs" namespace (Socket.IO over WebSocket: `42/jobs,["job",{...}]`)
const jobEvents = [];
page.on("websocket", (ws) => {
  ws.on("framereceived", ({ payload }) => {
    if (typeof payload !== "string" || !payload.startsWith("42/jobs,")) return;
    const [event, data] = JSON.parse(payload.slice("42/jobs,".length));
    jobEvents.push({ event, status: data?.status, progress: data?.progress, code: data?.code });
  });
});
// the REST status of the training: polled only while the socket is not connected
let statusPolls = 0;
page.on("request", (request) => {
  if (request.method() === "GET" && /\/api\/voices\/[^/]+\/train$/.test(new URL(request.url()).pathname)) statusPolls += 1;
});

/** The progress bar's value now (null: no bar on the page, also when it went between looking and reading:
 * the job finished and the panel shows its verdict). */
async function barValue() {
  const bar = page.getByTestId("voice-train-progress");
  if (!(await bar.count())) return null;
  const value = await bar.getAttribute("aria-valuenow", { timeout: 1_000 }).catch(() => null);
  return value === null ? null : Number(value);
}

try {
  await page.goto(`${args.url}/#/personas`);
  const start = page.getByTestId("voice-train-start");
  await start.waitFor({ timeout: 60_000 });
  log("estimate:", await page.getByTestId("voice-train-estimate").textContent());
  await start.click();
  const startedAt = Date.now();
  await page.getByTestId("voice-train-progress").waitFor({ timeout: 30_000 });
  const seen = [];
  const deadline = Date.now() + timeout;
  let reloaded = false;
  let sawPause = !args.pause;
  while (Date.now() < deadline) {
    if (await page.getByTestId("voice-train-result").count()) break;
    const value = await barValue();
    if (value !== null && value !== seen.at(-1)) {
      seen.push(value);
      log(`progress ${value}%:`, await page.getByTestId("voice-train-message").textContent().catch(() => ""));
    }
    if (!sawPause && (await page.locator('[data-testid="voice-train-running"][data-paused="true"]').count())) {
      sawPause = true; // a conversation needs the GPU memory (the Python side of the test holds it a while)
      log("paused:", await page.getByTestId("voice-train-details").textContent().catch(() => ""));
      await page.screenshot({ path: `${args.out}/training-paused.png` });
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
  const trainingS = (Date.now() - startedAt) / 1000;
  const running = jobEvents.filter((e) => e.event === "job" && e.status === "running").map((e) => e.progress);
  const done = jobEvents.filter((e) => e.event === "job" && e.status === "done");
  log(`socket: ${jobEvents.length} jobs-namespace events (${running.length} running, ${done.length} done), ` +
      `${statusPolls} status requests in ${trainingS.toFixed(0)} s`);
  report.expect(new Set(running).size >= 3, "socket-progress", `progress over the socket: ${JSON.stringify(running)}`);
  report.expect(done.length >= 1, "socket-done", `the final state over the socket: ${JSON.stringify(jobEvents.slice(-3))}`);
  report.expect(!jobEvents.some((e) => e.event === "error"), "socket-errors", JSON.stringify(jobEvents.filter((e) => e.event === "error")));
  // polling once a second would make about one request per second of training
  report.expect(statusPolls <= 8 + trainingS / 10, "no-polling", `${statusPolls} status requests in ${trainingS.toFixed(0)} s`);
  const moved = seen.filter((v, i) => i > 0 && v > seen[i - 1]).length;
  report.expect(moved >= 2, "progress", `the bar should move at least twice, saw ${JSON.stringify(seen)}`);
  report.expect(reloaded, "reload", "never saw the training details to reload on");
  report.expect(sawPause, "pause", "the panel never showed the training paused for a conversation");
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
