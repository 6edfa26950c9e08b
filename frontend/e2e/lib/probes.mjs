// What the user hears and sees, measured inside the page:
// - audio: the avatar <video>'s sound through an AnalyserNode (RMS every 50 ms), taken from
//   video.captureStream() (the element's own output is left alone), or, where that fails, from
//   createMediaElementSource(video) connected on to the speakers (that reroutes the sound). The captured
//   stream is taken before the element's volume and mute (a muted element still measures loud), so
//   judgeAudio checks muted and volume on their own;
// - frames: requestVideoFrameCallback, one record per presented frame (presentedFrames, mediaTime);
// - state: the element's muted/volume/paused and the player's data-showing ("speech" | "idle").
// The probe is started by the test after the lobby click, so its AudioContext runs on the page's
// user activation like the app's own audio does.
import { log } from "./report.mjs";

/** Thresholds of "clearly audible" and "really moving". */
export const LIMITS = {
  /** The loudest 50 ms of speech must reach this RMS (-34 dBFS; speech is usually -25..-12). */
  speechRmsMax: 0.02,
  /** A sample at or above this RMS counts as voiced. */
  voicedRms: 0.005,
  /** At least this share of the speech samples must be voiced (pauses between words are allowed). */
  voicedShare: 0.3,
  /** Presented frames per second of speech (the stream is 25 fps). */
  minFps: 15,
  /** mediaTime must advance by at least this share of the wall-clock time of speech. */
  minMediaAdvance: 0.6,
  /** Speech shorter than this (ms) in total cannot be judged. */
  minSpeechMs: 1000,
};

/** Start measuring the <video> with data-testid `testId`. Returns how the sound is tapped. */
export async function startMediaProbe(page, testId) {
  const info = await page.evaluate(async (id) => {
    const video = document.querySelector(`[data-testid="${id}"]`);
    if (!(video instanceof HTMLVideoElement)) throw new Error(`no <video data-testid="${id}">`);
    const probe = { samples: [], frames: [], method: null, stopped: false, t0: performance.now() };
    window.__e2eProbe = probe;
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    // keep the analyser in the rendered graph without adding any sound
    const silent = ctx.createGain();
    silent.gain.value = 0;
    analyser.connect(silent).connect(ctx.destination);
    try {
      const stream = video.captureStream();
      const tap = (track) => ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      stream.getAudioTracks().forEach(tap);
      stream.addEventListener("addtrack", (e) => e.track.kind === "audio" && tap(e.track));
      probe.method = "captureStream";
    } catch (error) {
      const source = ctx.createMediaElementSource(video);
      source.connect(analyser);
      source.connect(ctx.destination); // the user must still hear it
      probe.method = `mediaElementSource (captureStream: ${error?.message})`;
    }
    await ctx.resume().catch(() => undefined);
    const buffer = new Float32Array(analyser.fftSize);
    probe.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(buffer);
      let sum = 0;
      for (const x of buffer) sum += x * x;
      const caption = document.querySelector('[data-testid="caption"]');
      probe.samples.push({
        t: performance.now(),
        rms: Math.sqrt(sum / buffer.length),
        showing: video.dataset.showing ?? null,
        muted: video.muted,
        volume: video.volume,
        paused: video.paused,
        ctx: ctx.state,
        caption: caption && caption.checkVisibility?.() !== false ? caption.textContent.trim().slice(0, 80) : "",
      });
    }, 50);
    const onFrame = (now, meta) => {
      probe.frames.push({ now, mediaTime: meta.mediaTime, presented: meta.presentedFrames });
      if (!probe.stopped) video.requestVideoFrameCallback(onFrame);
    };
    if (typeof video.requestVideoFrameCallback !== "function") throw new Error("no requestVideoFrameCallback");
    video.requestVideoFrameCallback(onFrame);
    return { method: probe.method, context: ctx.state, muted: video.muted, volume: video.volume };
  }, testId);
  log("media probe:", JSON.stringify(info));
  return info;
}

/** Everything the probe has recorded so far. */
export function readProbe(page) {
  return page.evaluate(() => {
    const p = window.__e2eProbe;
    return p ? { samples: p.samples, frames: p.frames, method: p.method } : { samples: [], frames: [], method: null };
  });
}

export function pageNow(page) {
  return page.evaluate(() => performance.now());
}

/** Speech intervals [start, end] (page ms): where the player shows speech, or, when the element has
 *  no data-showing, where the sound is voiced. Gaps shorter than `gapMs` are bridged. */
export function speechRuns(samples, { from = 0, to = Infinity, gapMs = 400 } = {}) {
  const inRange = samples.filter((s) => s.t >= from && s.t <= to);
  const marked = samples.some((s) => s.showing === "speech" || s.showing === "idle");
  const isSpeech = marked ? (s) => s.showing === "speech" : (s) => s.rms >= LIMITS.voicedRms;
  const runs = [];
  for (const s of inRange) {
    if (!isSpeech(s)) continue;
    const last = runs[runs.length - 1];
    if (last && s.t - last.end <= gapMs) last.end = s.t;
    else runs.push({ start: s.t, end: s.t });
  }
  return { runs: runs.filter((r) => r.end - r.start >= 200), source: marked ? "data-showing" : "audio energy" };
}

const within = (runs, t) => runs.some((r) => t >= r.start && t <= r.end);
const quantile = (values, q) => {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

/** Judge the sound during `runs`: audible, not muted. Returns a compact summary; records failures. */
export function judgeAudio(samples, runs, what, report) {
  const speech = samples.filter((s) => within(runs, s.t));
  const ms = runs.reduce((sum, r) => sum + r.end - r.start, 0);
  const rms = speech.map((s) => s.rms);
  const summary = {
    speechMs: Math.round(ms),
    samples: speech.length,
    rmsMax: +Math.max(0, ...rms).toFixed(4),
    rmsMedian: +quantile(rms, 0.5).toFixed(4),
    voicedShare: +(rms.filter((r) => r >= LIMITS.voicedRms).length / Math.max(1, rms.length)).toFixed(2),
    muted: speech.filter((s) => s.muted).length,
    minVolume: Math.min(1, ...speech.map((s) => s.volume)),
    context: [...new Set(speech.map((s) => s.ctx))].join(","),
    caption: [...new Set(speech.map((s) => s.caption).filter(Boolean))].slice(-1)[0] ?? "",
  };
  log(`${what} audio:`, JSON.stringify(summary));
  if (!report.expect(ms >= LIMITS.minSpeechMs, "audio", `${what}: no speech to listen to (${summary.speechMs} ms)`)) return summary;
  report.expect(summary.muted === 0, "audio", `${what}: the avatar video was muted during ${summary.muted} of ${speech.length} speech samples`);
  report.expect(summary.minVolume > 0.05, "audio", `${what}: video volume ${summary.minVolume}`);
  report.expect(summary.rmsMax >= LIMITS.speechRmsMax && summary.voicedShare >= LIMITS.voicedShare, "audio",
    `${what}: silent speech, RMS max ${summary.rmsMax} (>= ${LIMITS.speechRmsMax}), voiced share ${summary.voicedShare} (>= ${LIMITS.voicedShare})`);
  report.expect(summary.caption !== "", "caption", `${what}: no [data-testid=caption] shown over the video while it was spoken`);
  return summary;
}

/** Judge the frames presented during `runs`: enough per second, mediaTime advancing. A run counts
 *  whole, so a picture frozen while the avatar speaks (no frame presented) lowers the rate. */
export function judgeFrames(frames, runs, what, report) {
  let presented = 0, wall = 0, advance = 0, distinct = 0, callbacks = 0;
  for (const run of runs) {
    wall += run.end - run.start;
    const before = frames.findLast((f) => f.now < run.start);
    const inRun = frames.filter((f) => f.now >= run.start && f.now <= run.end);
    if (!inRun.length) continue;
    const first = before ?? inRun[0], last = inRun[inRun.length - 1];
    presented += last.presented - first.presented;
    advance += Math.max(0, last.mediaTime - first.mediaTime);
    distinct += new Set(inRun.map((f) => f.mediaTime.toFixed(3))).size;
    callbacks += inRun.length;
  }
  const summary = {
    speechMs: Math.round(wall),
    presented,
    fps: +(presented / Math.max(wall / 1000, 1e-3)).toFixed(1),
    mediaAdvanceS: +advance.toFixed(2),
    distinctMediaTimes: distinct,
    callbacks,
  };
  log(`${what} frames:`, JSON.stringify(summary));
  if (!report.expect(wall >= LIMITS.minSpeechMs, "frames", `${what}: no presented frames during speech (${summary.speechMs} ms)`)) return summary;
  report.expect(summary.fps >= LIMITS.minFps, "frames", `${what}: ${summary.fps} presented frames/s during speech (>= ${LIMITS.minFps})`);
  report.expect(advance * 1000 >= LIMITS.minMediaAdvance * wall, "frames",
    `${what}: mediaTime advanced ${summary.mediaAdvanceS} s in ${(wall / 1000).toFixed(2)} s of speech`);
  return summary;
}
