// End-to-end: the real server, Debian's Chromium (never a downloaded browser), a fake microphone fed
// from a Russian recording. Completes the wizard (photo, voice files, character, voice preparation,
// greeting test), then asks a question by push-to-talk and checks the transcript, the reply and that
// the avatar video really plays. Screenshots go to --out.
//
//   node e2e/run.mjs --url http://127.0.0.1:8000 --photo face.png --voice a.wav --voice b.ogg \
//        --mic question.wav --expect "привет" --out ../out/e2e
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" }, photo: { type: "string" }, voice: { type: "string", multiple: true },
    mic: { type: "string" }, expect: { type: "string", default: "" }, out: { type: "string", default: "e2e-out" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    "hold-ms": { type: "string", default: "4000" }, timeout: { type: "string", default: "240000" },
  },
});
mkdirSync(args.out, { recursive: true });
const T = Number(args.timeout);
const log = (...m) => console.log(`[e2e ${(performance.now() / 1000).toFixed(1)}s]`, ...m);

const browser = await chromium.launch({
  executablePath: args.chromium,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${args.mic}`, "--autoplay-policy=no-user-gesture-required"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => { if (m.type() === "error") log("console:", m.text()); });
const byId = (id) => page.getByTestId(id);

/** Wait until a <video> has data and its clock advances (it really plays). */
async function assertPlays(testId, what) {
  const video = byId(testId);
  await video.waitFor({ state: "visible", timeout: T });
  await page.waitForFunction((id) => {
    const v = document.querySelector(`[data-testid="${id}"]`);
    return v && v.readyState >= 2 && v.currentTime > 0;
  }, testId, { timeout: T });
  const t0 = await video.evaluate((v) => v.currentTime);
  await page.waitForTimeout(1200);
  const t1 = await video.evaluate((v) => v.currentTime);
  const state = await video.evaluate((v) => ({ readyState: v.readyState, paused: v.paused, w: v.videoWidth }));
  log(`${what}: readyState ${state.readyState}, ${t0.toFixed(2)}s -> ${t1.toFixed(2)}s, width ${state.w}`);
  if (!(state.readyState >= 2 && t1 > t0 && state.w > 0)) throw new Error(`${what} does not play: ${JSON.stringify(state)}`);
}

try {
  await page.goto(`${args.url}/#/wizard`);
  await byId("wizard").waitFor({ timeout: T });

  log("step 1: photo");
  await byId("photo-input").setInputFiles(args.photo);
  await byId("photo-preview").waitFor({ timeout: T });
  await byId("wizard-next").click();

  log("step 2: voice files");
  await byId("voice-input").setInputFiles(args.voice);
  await page.locator('[data-testid="voice-enough"]:not([data-level="not_enough"])').waitFor({ timeout: T });
  log("voice report:", (await byId("voice-report").innerText()).replace(/\s+/g, " ").slice(0, 200));
  await byId("wizard-next").click();

  log("step 3: character");
  await byId("persona-name").fill("Маша");
  await byId("persona-age").fill("25");
  await byId("persona-temperament").fill("спокойная, весёлая");
  await byId("persona-interests").fill("книги, горы");
  await byId("persona-greeting").fill("Привет! Я Маша. О чём поговорим?");
  await byId("wizard-next").click();

  log("step 4: voice preparation");
  await byId("voice-prepare-progress").waitFor({ timeout: T });
  await byId("voice-prepare-done").waitFor({ timeout: T });
  log("similarity:", await byId("voice-similarity").innerText());
  await byId("wizard-next").click();

  log("step 5: greeting test");
  await assertPlays("test-video", "greeting video");
  await page.screenshot({ path: `${args.out}/wizard-test.png` });
  await byId("wizard-finish").click();

  log("conversation");
  await byId("talk").waitFor({ timeout: T });
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: T });
  await assertPlays("avatar-video", "idle avatar video");

  log("asking by push-to-talk");
  const ptt = byId("mic-ptt");
  await ptt.scrollIntoViewIfNeeded();
  const box = await ptt.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.waitForTimeout(Number(args["hold-ms"]));
  await page.mouse.up();

  const user = page.locator('[data-testid="history-item"][data-role="user"]').last();
  await user.waitFor({ timeout: T });
  const heard = (await user.innerText()).trim();
  log("transcript:", heard);
  if (args.expect && !heard.toLowerCase().includes(args.expect.toLowerCase())) {
    throw new Error(`transcript "${heard}" lacks "${args.expect}"`);
  }
  // the answer: an assistant item after the question (a new session opens with the greeting), complete
  const reply = page.locator('[data-testid="history-item"][data-role="assistant"]').last();
  await page.waitForFunction(() => {
    const items = [...document.querySelectorAll('[data-testid="history-item"]')];
    const asked = items.map((i) => i.dataset.role).lastIndexOf("user");
    const answers = items.slice(asked + 1).filter((i) => i.dataset.role === "assistant");
    return asked >= 0 && answers.length && answers.every((i) => i.dataset.pending !== "true")
      && answers[answers.length - 1].textContent.trim().length > 3;
  }, null, { timeout: T });
  log("reply:", (await reply.innerText()).trim().slice(0, 200));
  await assertPlays("avatar-video", "avatar video during the answer");
  await page.screenshot({ path: `${args.out}/conversation.png` });
  if (problems.length) throw new Error(problems.join("\n"));
  log("OK");
} catch (err) {
  await page.screenshot({ path: `${args.out}/failure.png` }).catch(() => {});
  console.error(`[e2e] FAILED: ${err.stack || err}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
