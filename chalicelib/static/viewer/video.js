// The RDP/VNC player: a <video> of the recording and, under it, the activity heat bar drawn from the input events.
import { el, clock } from "./dom.js";

// Bucket widths the heat bar chooses from: the smallest that gives at most MAX_BARS bars.
const STEPS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
const MAX_BARS = 60;
const KINDS = ["move", "click", "key"];

export function buckets(events, duration) {
  const end = Math.max(duration || 0, ...events.map((e) => Number(e.elapsed) || 0), 0.5);
  const step = STEPS.find((s) => end / s <= MAX_BARS) ?? Math.ceil(end / MAX_BARS);
  const count = Math.max(1, Math.ceil(end / step));
  const bars = Array.from({ length: count }, (_, i) => ({ start: i * step, end: Math.min((i + 1) * step, end),
                                                          total: 0, kinds: {} }));
  for (const event of events) {
    const index = Math.min(count - 1, Math.max(0, Math.floor((Number(event.elapsed) || 0) / step)));
    bars[index].total += 1;
    bars[index].kinds[event.event_type] = (bars[index].kinds[event.event_type] || 0) + 1;
  }
  return { step, bars };
}

function describe(bar) {
  const kinds = Object.entries(bar.kinds).sort(([a], [b]) => KINDS.indexOf(a) - KINDS.indexOf(b))
    .map(([kind, n]) => `${n} ${kind}${n === 1 ? "" : "s"}`).join(", ");
  const what = bar.total ? `${bar.total} input event${bar.total === 1 ? "" : "s"} (${kinds})` : "no input";
  return `${clock(bar.start)} to ${clock(bar.end)}: ${what}`;
}

// MediaRecorder's WebM states no duration (Infinity at loadedmetadata); a seek far past the end makes Chromium
// read to the end and learn it (docs/browser-tests.md), then we go back to the start.
function learnDuration(video) {
  return new Promise((resolve) => {
    if (Number.isFinite(video.duration)) return resolve(video.duration);
    // wait for the seek itself to end (durationchange comes first): going back earlier can leave the last frame shown
    const seeked = () => {
      if (!Number.isFinite(video.duration)) return;
      video.removeEventListener("seeked", seeked);
      video.addEventListener("seeked", () => resolve(video.duration), { once: true });
      video.currentTime = 0;
    };
    video.addEventListener("seeked", seeked);
    video.currentTime = Number.MAX_SAFE_INTEGER;
  });
}

// `url`: where the recording is (the presigned address GET /sessions/{id}/recording?redirect=false gave).
export function videoPlayer(session, url, events, { onError }) {
  const video = el("video", { controls: true, preload: "auto", playsInline: true, muted: true,
                              "aria-label": `Recording of ${session.connectionName || session.id}` });
  const heat = el("div", { class: "heatbar", role: "group", "aria-label": "Input activity over time: choose a bar to jump there" });
  const legend = el("p", { class: "hint" }, `${events.length} input events`);
  const box = el("div", { class: "video-player" }, video, heat, legend);
  let bars = [];

  const draw = (duration) => {
    const { step, bars: drawn } = buckets(events, duration);
    const peak = Math.max(1, ...drawn.map((b) => b.total));
    heat.replaceChildren(...drawn.map((bar, i) => {
      const level = bar.total / peak;
      const button = el("button", { type: "button", class: "bar", "data-start": String(bar.start),
                                    "aria-label": describe(bar), title: describe(bar),
                                    style: `--level: ${level.toFixed(3)}` });
      button.addEventListener("click", () => {
        video.currentTime = bar.start;
        mark();
      });
      button.dataset.index = String(i);
      return button;
    }));
    bars = drawn;
    const width = step < 60 ? `${step} s` : clock(step);
    legend.textContent = `${events.length} input events, ${width} per bar; choose a bar to jump there`;
  };

  // the bar under the play head carries aria-current, so it shows (and is announced) as the current one
  const mark = () => {
    const at = video.currentTime;
    heat.querySelectorAll(".bar").forEach((button, i) => {
      const bar = bars[i];
      const current = bar && at >= bar.start && (at < bar.end || i === bars.length - 1);
      if (current) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    });
  };

  draw(0);
  box.ready = new Promise((resolve) => {
    video.addEventListener("loadedmetadata", async () => {
      const duration = await learnDuration(video);
      draw(duration);
      mark();
      resolve(duration);
    }, { once: true });
  });
  video.addEventListener("timeupdate", mark);
  video.addEventListener("error", () => {
    const code = video.error ? video.error.code : "?";
    onError(`the recording could not be played (media error ${code})`);
  });
  video.src = url;
  box.video = video;
  return box;
}
