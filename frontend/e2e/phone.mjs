// Phone flow (390x844, touch, 3x pixels) with the default persona (no wizard): lobby by tap, greeting
// heard and its frames counted, a question by push-to-talk by touch, the reply heard and seen, and the
// avatar video inside the viewport (no sideways scrolling) the whole time the reply arrives and plays.
import { checkA11y } from "./lib/axe.mjs";
import { byId, judgeSpeech, passLobby, pushToTalk, settle, waitConnected, waitReply, waitSpeechDone } from "./lib/conversation.mjs";
import { log } from "./lib/report.mjs";

/** Checks that the avatar video lies inside the viewport and the page does not scroll sideways. */
function layoutWatch(page, report, out) {
  const { width, height } = page.viewportSize();
  let checks = 0, failed = false;
  return {
    async check(when) {
      const box = await byId(page, "avatar-video").boundingBox();
      const scrollWidth = await page.evaluate(() => document.scrollingElement.scrollWidth);
      checks += 1;
      const inside = !!box && box.width > 100 && box.x >= -1 && box.y >= -1 && box.x + box.width <= width + 1 && box.y + box.height <= height + 1;
      if (!failed && !inside) {
        failed = true;
        const b = box && `x ${box.x.toFixed(0)} y ${box.y.toFixed(0)} w ${box.width.toFixed(0)} h ${box.height.toFixed(0)}`;
        report.fail("layout", `${when}: the avatar video is not inside the ${width}x${height} viewport (${b ?? "not rendered"})`);
        await page.screenshot({ path: `${out}/phone-layout-failure.png` });
      }
      if (!failed && scrollWidth > width + 1) {
        failed = true;
        report.fail("layout", `${when}: the page is ${scrollWidth} px wide in a ${width} px viewport (sideways scrolling)`);
      }
    },
    get count() {
      return checks;
    },
  };
}

export async function phoneFlow(page, { args, report, timeout: T }) {
  const out = args.out;
  await page.goto(`${args.url}/#/talk`);
  await byId(page, "talk").waitFor({ timeout: T });
  log("phone: persona", await byId(page, "persona-name").first().innerText().catch(() => "?"));

  const clickedAt = await passLobby(page, { report, out, timeout: T, touch: true });
  await waitConnected(page, T);
  const layout = layoutWatch(page, report, out);
  await layout.check("after the lobby");
  if (!(await waitSpeechDone(page, { since: clickedAt, timeout: 120_000 }))) report.fail("greeting", "no greeting spoken within 120 s of the lobby tap");
  await settle(page);
  await checkA11y(page, "conversation (phone)", report);
  await page.screenshot({ path: `${out}/phone-greeting.png` });

  log("asking by push-to-talk (touch)");
  const { askedAt, usersBefore } = await pushToTalk(page, { mode: "touch", maxHoldMs: Number(args["max-hold-ms"]), report });
  await layout.check("after the question");
  await waitReply(page, { expect: args.expect, usersBefore, timeout: T, report, onPoll: () => layout.check("while the reply arrives") });
  await page.screenshot({ path: `${out}/phone-reply.png` });
  const spoken = waitSpeechDone(page, { since: askedAt, timeout: 120_000 });
  let done = false;
  void spoken.then(() => (done = true));
  while (!done) {
    await layout.check("while the reply plays");
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
  if (!(await spoken)) report.fail("reply", "the reply was not spoken within 120 s");
  log(`layout checked ${layout.count} times`);
  await judgeSpeech(page, { clickedAt, askedAt, label: "phone ", report });
}
