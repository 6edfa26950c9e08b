// Steps on the conversation screen shared by the desktop and the phone flows.
import { checkA11y } from "./axe.mjs";
import { mediaRecord } from "./mediaHooks.mjs";
import { LIMITS, judgeAudio, judgeFrames, pageNow, readProbe, speechRuns, startMediaProbe } from "./probes.mjs";
import { log } from "./report.mjs";

export const byId = (page, id) => page.getByTestId(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wait until a <video> has data and its clock advances (it really plays); throws otherwise. */
export async function assertPlays(page, testId, what, timeout) {
  const video = byId(page, testId);
  await video.waitFor({ state: "visible", timeout });
  await page.waitForFunction((id) => {
    const v = document.querySelector(`[data-testid="${id}"]`);
    return v && v.readyState >= 2 && v.currentTime > 0;
  }, testId, { timeout });
  const t0 = await video.evaluate((v) => v.currentTime);
  await page.waitForTimeout(1200);
  const t1 = await video.evaluate((v) => v.currentTime);
  const state = await video.evaluate((v) => ({ readyState: v.readyState, paused: v.paused, w: v.videoWidth, muted: v.muted }));
  log(`${what}: readyState ${state.readyState}, ${t0.toFixed(2)}s -> ${t1.toFixed(2)}s, width ${state.w}, muted ${state.muted}`);
  if (!(state.readyState >= 2 && t1 > t0 && state.w > 0)) throw new Error(`${what} does not play: ${JSON.stringify(state)}`);
}

/** Let entrance animations finish before judging contrast or taking a picture. */
export const settle = (page) => page.waitForTimeout(700);

/**
 * The lobby: check it (axe, screenshot), press «Начать разговор» (a tap on a touch device) and start
 * the media probe at once (the greeting may begin while the lobby closes). Without a lobby the failure
 * is recorded and the flow goes on (through «Включить звук» if it shows) so the other checks still
 * run. Returns the page time of the click.
 */
export async function passLobby(page, { report, out, timeout, touch = false }) {
  await byId(page, "talk").waitFor({ timeout });
  const lobby = byId(page, "lobby");
  if (!(await lobby.waitFor({ timeout: 30_000 }).then(() => true, () => false))) {
    report.fail("lobby", "no [data-testid=lobby] on the conversation screen within 30 s");
    const clickedAt = await pageNow(page);
    const soundOn = byId(page, "sound-on");
    if (await soundOn.isVisible()) await (touch ? soundOn.tap() : soundOn.click());
    await byId(page, "avatar-video").waitFor({ state: "attached", timeout });
    await startMediaProbe(page, "avatar-video");
    return clickedAt;
  }
  await settle(page);
  await checkA11y(page, "lobby", report);
  await page.screenshot({ path: `${out}/lobby.png` });
  const start = byId(page, "lobby-start");
  const clickedAt = await pageNow(page);
  await (touch ? start.tap({ timeout }) : start.click({ timeout }));
  log("lobby: «Начать разговор» pressed");
  await startMediaProbe(page, "avatar-video");
  await lobby.waitFor({ state: "hidden", timeout }).catch(() => report.fail("lobby", "the lobby is still shown after «Начать разговор»"));
  return clickedAt;
}

export async function waitConnected(page, timeout) {
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout });
  log("connected");
}

/**
 * Wait until the avatar has spoken after page time `since` and has been quiet again for `quietMs`
 * (speech as in probes.speechRuns). Returns false on timeout.
 */
export async function waitSpeechDone(page, { since, timeout, quietMs = 1500 }) {
  return page.waitForFunction(({ since, quietMs, voiced }) => {
    const p = window.__e2eProbe;
    if (!p) return false;
    const marked = p.samples.some((s) => s.showing === "speech" || s.showing === "idle");
    const speech = (s) => (marked ? s.showing === "speech" : s.rms >= voiced);
    const after = p.samples.filter((s) => s.t >= since);
    const lastSpeech = after.findLast(speech);
    return !!lastSpeech && performance.now() - lastSpeech.t >= quietMs;
  }, { since, quietMs, voiced: LIMITS.voicedRms }, { timeout, polling: 250 }).then(() => true, () => false);
}

/** The muted assignments and refused play() calls on the avatar video after page time `since`. */
export async function checkNotSilenced(page, since, report) {
  const record = await mediaRecord(page);
  const mutes = record.mutes.filter((m) => m.element === "avatar-video" && m.t >= since);
  const refused = record.playFailures.filter((f) => f.element === "avatar-video" && f.t >= since && f.name === "NotAllowedError");
  log("media hooks:", JSON.stringify({ mutedAssignments: record.mutes.length, playFailures: record.playFailures }));
  for (const m of mutes) report.fail("muted", `the page set avatar-video.muted = true ${((m.t - since) / 1000).toFixed(1)} s after the lobby click (${m.stack})`);
  for (const f of refused) report.fail("muted", `avatar-video.play() refused after the lobby click: ${f.name}: ${f.message}`);
  const sound = await byId(page, "avatar-video").getAttribute("data-sound");
  report.expect(sound !== "blocked", "muted", "avatar-video reports data-sound=blocked after the lobby click");
  report.expect(!(await byId(page, "sound-on").isVisible()), "muted", "«Включить звук» is shown after the lobby click");
}

function pttRecording(ptt) {
  return ptt.evaluate((b) => b.getAttribute("aria-pressed") === "true" || b.dataset.mode === "latched" || b.dataset.recording === "true");
}

/** The microphone meter's level 0..1 (data-level, else aria-valuenow / 100). */
function micLevel(page) {
  return page.evaluate(() => {
    const m = document.querySelector('[data-testid="mic-level"]');
    if (!m) return null;
    const level = m.dataset.level ?? (m.getAttribute("aria-valuenow") !== null ? Number(m.getAttribute("aria-valuenow")) / 100 : null);
    return level === null ? null : Number(level);
  });
}

/** Level above which the meter hears the question (the fake microphone is digital silence between). */
const VOICED_LEVEL = 0.05;

/**
 * Follows the meter while recording: done once one whole question was heard, i.e. a voiced stretch
 * (>= 1 s) that began after a quiet reading (not cut at its start) and was followed by `quietMs` of
 * quiet. Chromium loops the microphone file, so this sends exactly one question wherever the loop stands.
 */
function questionListener(page, quietMs = 700) {
  const levels = [];
  let quietSeen = false, onset = null, lastVoiced = null, complete = false;
  return {
    levels,
    async listen(maxMs) {
      for (const end = Date.now() + maxMs; Date.now() < end && !complete;) {
        const level = await micLevel(page);
        levels.push(level);
        const now = Date.now();
        if (level !== null && level >= VOICED_LEVEL) {
          if (onset === null && quietSeen) onset = now;
          lastVoiced = now;
        } else {
          quietSeen = true;
          if (onset !== null && now - lastVoiced >= quietMs) {
            if (lastVoiced - onset >= 1000) complete = true;
            else onset = null; // a blip, not the question
          }
        }
        if (!complete) await sleep(100);
      }
      return complete;
    },
    get complete() {
      return complete;
    },
  };
}

/**
 * Ask one question by push-to-talk: with the mouse held down (desktop), or by touch: a tap starts the
 * recording and a second tap sends it (when the button does not stay pressed after a tap, a held touch
 * is used instead). Released once the meter has heard one whole question, at the latest after
 * `maxHoldMs`. Returns the page time of the question.
 */
export async function pushToTalk(page, { mode, maxHoldMs, report }) {
  const ptt = byId(page, "mic-ptt");
  const usersBefore = await userItems(page).count();
  await ptt.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => !document.querySelector('[data-testid="mic-ptt"]')?.disabled, null, { timeout: 60_000 });
  const askedAt = await pageNow(page);
  const started = Date.now();
  const question = questionListener(page);
  const rest = () => Math.max(0, maxHoldMs - (Date.now() - started));
  const centre = async () => {
    const box = await ptt.boundingBox();
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  };
  let how;
  if (mode === "mouse") {
    how = "mouse held";
    const { x, y } = await centre();
    await page.mouse.move(x, y);
    await page.mouse.down();
    await question.listen(rest());
    await page.mouse.up();
  } else {
    await ptt.tap();
    await question.listen(400);
    if (await pttRecording(ptt)) {
      how = "tap, tap";
      await question.listen(rest());
      await ptt.tap();
    } else {
      how = "touch held (a tap did not keep it recording)";
      const { x, y } = await centre();
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x, y }] });
      await question.listen(rest());
      await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
      await cdp.detach();
    }
  }
  const known = question.levels.filter((l) => l !== null && !Number.isNaN(l));
  const max = Math.max(0, ...known);
  const held = Date.now() - started;
  log(`push-to-talk (${how}, ${held} ms, ${question.complete ? "one whole question heard" : "no whole question heard"}): `
    + `mic level max ${max.toFixed(3)} over ${known.length} readings`);
  report.expect(known.length > 0, "mic", "mic-level has neither data-level nor aria-valuenow");
  report.expect(!known.length || max > 0.02, "mic", `mic-level stayed at ${max.toFixed(3)} while recording the question`);
  return { askedAt, usersBefore };
}

const userItems = (page) => page.locator('[data-testid="history-item"][data-role="user"]');

/**
 * Wait for the user's transcript (checked against `expect`) and the complete reply after it. `onPoll`
 * runs about every 300 ms meanwhile (e.g. layout checks). One push-to-talk must make one user message
 * (`usersBefore`: their number before it). Returns { heard, reply, thinkingSeen }.
 */
export async function waitReply(page, { expect, usersBefore, timeout, report, onPoll = async () => {} }) {
  const deadline = Date.now() + timeout;
  let thinkingSeen = false;
  let heard = null;
  const userItem = userItems(page).last();
  for (;;) {
    if (Date.now() > deadline) throw new Error(`no complete reply within ${timeout} ms (transcript: ${heard ?? "none"})`);
    await onPoll();
    if (!thinkingSeen && (await byId(page, "thinking").isVisible().catch(() => false))) {
      thinkingSeen = true;
      log("thinking indicator shown");
    }
    if (heard === null && (await userItem.count())) {
      heard = (await userItem.innerText()).replace(/\s+/g, " ").trim();
      log("transcript:", heard);
      report.expect(!expect || heard.toLowerCase().includes(expect.toLowerCase()), "transcript", `transcript "${heard}" lacks "${expect}"`);
    }
    const done = await page.evaluate(() => {
      const items = [...document.querySelectorAll('[data-testid="history-item"]')];
      const asked = items.map((i) => i.dataset.role).lastIndexOf("user");
      const answers = items.slice(asked + 1).filter((i) => i.dataset.role === "assistant");
      return asked >= 0 && answers.length > 0 && answers.every((i) => i.dataset.pending !== "true")
        && answers[answers.length - 1].textContent.trim().length > 3;
    });
    if (done) break;
    await sleep(300);
  }
  const added = (await userItems(page).count()) - usersBefore;
  report.expect(added === 1, "transcript", `one push-to-talk made ${added} user messages`);
  const reply = (await page.locator('[data-testid="history-item"][data-role="assistant"]').last().innerText()).trim();
  log("reply:", reply.replace(/\s+/g, " ").slice(0, 200));
  return { heard, reply, thinkingSeen };
}

/**
 * Judge what the probe recorded: the greeting (lobby click .. question) and the reply (question .. now)
 * must be heard and their frames presented; the avatar video must not have been silenced.
 */
export async function judgeSpeech(page, { clickedAt, askedAt, label, report }) {
  const end = await pageNow(page);
  const { samples, frames } = await readProbe(page);
  const greeting = speechRuns(samples, { from: clickedAt, to: askedAt });
  const reply = speechRuns(samples, { from: askedAt, to: end });
  log(`speech from ${greeting.source}: greeting ${greeting.runs.length} run(s), reply ${reply.runs.length} run(s)`);
  judgeAudio(samples, greeting.runs, `${label}greeting`, report);
  judgeFrames(frames, greeting.runs, `${label}greeting`, report);
  judgeAudio(samples, reply.runs, `${label}reply`, report);
  judgeFrames(frames, reply.runs, `${label}reply`, report);
  await checkNotSilenced(page, clickedAt, report);
}
