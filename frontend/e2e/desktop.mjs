// Desktop flow (1280x900, mouse): the wizard (photo, voice files, character, voice preparation,
// greeting test), the new persona's conversation through the lobby (greeting heard, frames counted),
// a question by push-to-talk (mouse held) with the fake microphone, the reply heard and seen, then
// the settings and persona management screens. axe runs on every screen.
import { checkA11y } from "./lib/axe.mjs";
import {
  assertPlays, byId, judgeSpeech, passLobby, pushToTalk, settle, waitConnected, waitReply, waitSpeechDone,
} from "./lib/conversation.mjs";
import { log } from "./lib/report.mjs";
import { openScreen } from "./lib/screens.mjs";
import { watchWarmup } from "./lib/warmup.mjs";

export async function desktopFlow(page, { args, report, timeout: T }) {
  const out = args.out;
  await page.goto(`${args.url}/#/wizard`);
  await byId(page, "wizard").waitFor({ timeout: T });

  log("wizard step 1: photo");
  await settle(page);
  await checkA11y(page, "wizard: photo", report);
  await byId(page, "photo-input").setInputFiles(args.photo);
  await byId(page, "photo-preview").waitFor({ timeout: T });
  await byId(page, "wizard-next").click();

  log("wizard step 2: voice files");
  await byId(page, "voice-input").setInputFiles(args.voice);
  await page.locator('[data-testid="voice-enough"]:not([data-level="not_enough"])').waitFor({ timeout: T });
  log("voice report:", (await byId(page, "voice-report").innerText()).replace(/\s+/g, " ").slice(0, 200));
  await checkA11y(page, "wizard: voice", report);
  await byId(page, "wizard-next").click();

  log("wizard step 3: character");
  await byId(page, "persona-name").fill("Маша");
  await byId(page, "persona-age").fill("25");
  await byId(page, "persona-temperament").fill("спокойная, весёлая");
  await byId(page, "persona-interests").fill("книги, горы");
  await byId(page, "persona-greeting").fill("Привет! Я Маша. О чём поговорим?");
  await checkA11y(page, "wizard: character", report);
  await byId(page, "wizard-next").click();
  const warmup = watchWarmup(page);

  log("wizard step 4: voice preparation");
  await byId(page, "voice-prepare-progress").waitFor({ timeout: T });
  await byId(page, "voice-prepare-done").waitFor({ timeout: T });
  log("similarity:", (await byId(page, "voice-similarity").innerText()).replace(/\s+/g, " "));
  await checkA11y(page, "wizard: voice preparation", report);
  await byId(page, "wizard-next").click();

  log("wizard step 5: greeting test");
  await byId(page, "test-video").waitFor({ timeout: T });
  const play = page.getByRole("button", { name: /Воспроизвести/ });
  if (await play.isVisible()) await play.click(); // autoplay refused: the step offers a play button
  await assertPlays(page, "test-video", "greeting test video", T);
  await settle(page);
  await checkA11y(page, "wizard: greeting test", report);
  await page.screenshot({ path: `${out}/wizard-test.png` });
  await warmup.finish(report);
  await byId(page, "wizard-finish").click();

  log("conversation");
  const clickedAt = await passLobby(page, { report, out, timeout: T });
  await waitConnected(page, T);
  await assertPlays(page, "avatar-video", "avatar video", T);
  if (!(await waitSpeechDone(page, { since: clickedAt, timeout: 120_000 }))) report.fail("greeting", "no greeting spoken within 120 s of the lobby click");
  await settle(page);
  await checkA11y(page, "conversation", report);
  await page.screenshot({ path: `${out}/greeting.png` });

  log("asking by push-to-talk");
  const { askedAt, usersBefore } = await pushToTalk(page, { mode: "mouse", maxHoldMs: Number(args["max-hold-ms"]), report });
  await waitReply(page, { expect: args.expect, usersBefore, timeout: T, report });
  if (!(await waitSpeechDone(page, { since: askedAt, timeout: 120_000 }))) report.fail("reply", "the reply was not spoken within 120 s");
  await page.screenshot({ path: `${out}/conversation.png` });
  await judgeSpeech(page, { clickedAt, askedAt, label: "", report });

  await openScreen(page, { route: "settings", ready: byId(page, "settings"), out, report, timeout: T });
  await openScreen(page, { route: "personas", out, report, timeout: T });
}
