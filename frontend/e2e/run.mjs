// End-to-end: the real server, Debian's Chromium (never a downloaded browser) at its default autoplay
// policy, a fake microphone fed from a Russian recording. Two flows:
//   desktop: wizard -> lobby -> greeting -> question by push-to-talk -> reply -> settings, personas
//   phone:   default persona on a 390x844 touch screen -> lobby -> greeting -> push-to-talk by touch -> reply
// Both hear the avatar (audio energy of its <video>), count its frames while it speaks
// (requestVideoFrameCallback), run axe on every screen and fail on any console error. Screenshots go
// to --out.
//
//   node e2e/run.mjs --flow desktop --url http://127.0.0.1:8000 --photo face.png --voice a.wav \
//        --voice b.ogg --mic question.wav --expect "привет" --out ../out/e2e/desktop
//   node e2e/run.mjs --flow phone --url http://127.0.0.1:8000 --mic question.wav --out ../out/e2e/phone
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { desktopFlow } from "./desktop.mjs";
import { DESKTOP, PHONE, openBrowser } from "./lib/browser.mjs";
import { Report, log } from "./lib/report.mjs";
import { phoneFlow } from "./phone.mjs";

const FLOWS = { desktop: { run: desktopFlow, device: DESKTOP }, phone: { run: phoneFlow, device: PHONE } };

const { values: args } = parseArgs({
  options: {
    flow: { type: "string", default: "desktop" },
    url: { type: "string" }, photo: { type: "string" }, voice: { type: "string", multiple: true },
    mic: { type: "string" }, expect: { type: "string", default: "" }, out: { type: "string", default: "e2e-out" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    "max-hold-ms": { type: "string", default: "12000" }, timeout: { type: "string", default: "240000" },
  },
});
const flow = FLOWS[args.flow];
if (!flow) throw new Error(`--flow must be one of ${Object.keys(FLOWS).join(", ")}`);
if (!args.url || !args.mic) throw new Error("--url and --mic are required");
mkdirSync(args.out, { recursive: true });

const report = new Report();
const { browser, page } = await openBrowser({ executable: args.chromium, mic: args.mic, device: flow.device, report });
try {
  await flow.run(page, { args, report, timeout: Number(args.timeout) });
} catch (err) {
  report.fail("flow", String(err.stack || err));
  await page.screenshot({ path: `${args.out}/failure.png` }).catch(() => {});
} finally {
  await browser.close();
}
log(`${args.flow}: ${report.summary()}`);
console.log(report.ok ? "[e2e] OK" : "[e2e] FAILED");
process.exitCode = report.ok ? 0 : 1;
