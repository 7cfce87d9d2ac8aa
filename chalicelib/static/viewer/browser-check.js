// The gateway's browser side, as docs/browser-tests.md describes it: the RDP recorder, the <video> player, the
// Blob download and the SSH cast player. tests/browser calls these through `window.browserCheck`.
(function () {
  "use strict";

  // The page lives at <api>/viewer/: every API path is relative to <api>/, as the gateway's are to /api/v1/.
  const API = new URL("..", location.href);
  const api = (path) => new URL(path, API).href;

  // One colour per second of recording: a frame's colour tells its time (tests/browser/webm.py reads it back).
  const PALETTE = [
    [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255],
    [0, 255, 255], [255, 255, 255], [0, 0, 0], [255, 128, 0], [128, 0, 255],
  ];
  const colourAt = (seconds) => PALETTE[Math.floor(seconds) % PALETTE.length];

  const stage = () => document.getElementById("stage");
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  const sha256 = async (blob) => hex(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
  const base64 = (blob) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  const status = (promise) => promise.then((r) => r.status, (e) => `network error: ${e.message}`);

  function once(target, type, timeoutMs, failOn = "error") {
    return new Promise((resolve, reject) => {
      const done = (fn, value) => {
        clearTimeout(timer);
        target.removeEventListener(type, ok);
        target.removeEventListener(failOn, bad);
        fn(value);
      };
      const ok = (event) => done(resolve, event);
      const bad = () => done(reject, new Error(`${failOn} while waiting for ${type}` + mediaError(target)));
      const timer = setTimeout(() => done(reject, new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
      target.addEventListener(type, ok);
      target.addEventListener(failOn, bad);
    });
  }
  const mediaError = (el) => (el.error ? ` (MediaError ${el.error.code}: ${el.error.message})` : "");

  // ---- the RDP recorder, as the gateway's client records a session ------------------------------------------
  // captureStream(10); VP9 where supported, else plain WebM; each dataavailable blob POSTed at once as raw bytes
  // with the cookie, without waiting for the previous upload; input events flushed in batches; after the last
  // chunk's upload, finalize. The gateway's timeslice and flush period are 5 s; the tests pass shorter ones.
  async function startRdp(connectionId) {
    const response = await fetch(api("sessions/rdp-session"), {
      method: "POST", credentials: "include", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ connectionId }),
    });
    return { status: response.status, ...(await response.json()) };
  }

  // The gateway's whole RDP side: ask whether to record, then record (or not).
  async function rdpSession({ connectionId, ...options }) {
    const started = await startRdp(connectionId);
    if (started.status !== 200 || !started.shouldRecord || !started.sessionId) return { started };
    return { started, ...(await record({ sessionId: started.sessionId, ...options })) };
  }

  // Options beyond the gateway's, for tests and fixtures: `upload: false` keeps the bytes in the page, `mimeType`
  // forces a type, `noise` fills that many bottom rows with random pixels (bigger files; the rest keeps the colour).
  function record({ sessionId, seconds = 5, timesliceMs = 5000, flushMs = 5000, width = 64, height = 48,
                    upload = true, mimeType = null, noise = 0 }) {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.id = "screen";
    stage().append(canvas);
    const ctx = canvas.getContext("2d");
    mimeType ??= MediaRecorder.isTypeSupported("video/webm; codecs=vp9") ? "video/webm; codecs=vp9" : "video/webm";
    const recorder = new MediaRecorder(canvas.captureStream(10), { mimeType });
    const chunks = [];
    const uploads = [];
    const eventPosts = [];
    let pending = [];
    const eventsSent = [];
    let startedAt = null;
    const elapsed = () => (performance.now() - startedAt) / 1000;

    const paint = () => {
      const [r, g, b] = colourAt(startedAt === null ? 0 : elapsed());
      ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
      ctx.fillRect(0, 0, width, height);
      if (noise) {
        const lower = ctx.createImageData(width, noise);
        for (let at = 0; at < lower.data.length; at += 65536) crypto.getRandomValues(lower.data.subarray(at, at + 65536));
        for (let i = 3; i < lower.data.length; i += 4) lower.data[i] = 255;
        ctx.putImageData(lower, 0, height - noise);
      }
    };
    const painter = setInterval(paint, 40);
    paint();

    const note = (type) => () => { if (startedAt !== null) pending.push({ elapsed: Number(elapsed().toFixed(3)), type }); };
    canvas.addEventListener("mousemove", note("move"));
    canvas.addEventListener("click", note("click"));
    window.addEventListener("keydown", note("key"));
    const flush = () => {
      if (!pending.length) return;
      const batch = pending;
      pending = [];
      eventsSent.push(...batch);
      if (!upload) return;
      eventPosts.push(status(fetch(api(`sessions/${sessionId}/recording/events`), {
        method: "POST", credentials: "include", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(batch),
      })));
    };
    const flusher = setInterval(flush, flushMs);

    recorder.addEventListener("dataavailable", (event) => {
      if (!event.data.size) return;
      chunks.push(event.data);
      if (upload) uploads.push(status(fetch(api(`sessions/${sessionId}/recording/chunk`), {
        method: "POST", credentials: "include", headers: { "Content-Type": "application/octet-stream" },
        body: event.data,
      })));
    });

    return new Promise((resolve, reject) => {
      recorder.addEventListener("error", (event) => reject(new Error(`MediaRecorder error: ${event.error}`)));
      recorder.addEventListener("start", () => {
        startedAt = performance.now();
        paint();
        setTimeout(() => recorder.stop(), seconds * 1000);
      });
      recorder.addEventListener("stop", async () => {
        try {
          clearInterval(painter);
          clearInterval(flusher);
          flush();
          await uploads[uploads.length - 1];  // the gateway waits for the last chunk's upload, then finalizes
          const finalize = upload ? await fetch(api(`sessions/${sessionId}/recording/finalize`), {
            method: "POST", credentials: "include",
          }) : null;
          const whole = new Blob(chunks, { type: "video/webm" });
          resolve({
            mimeType, recorderMimeType: recorder.mimeType, seconds,
            chunkSizes: chunks.map((c) => c.size),
            chunkStatuses: await Promise.all(uploads),
            events: eventsSent, eventStatuses: await Promise.all(eventPosts),
            finalizeStatus: finalize?.status, finalizeBody: await finalize?.text(),
            width, height, timesliceMs,
            size: whole.size, sha256: await sha256(whole), base64: await base64(whole),
          });
        } catch (error) {
          reject(error);
        }
      });
      recorder.start(timesliceMs);
    });
  }

  // ---- the sessions page's download: fetch across the 302 into a Blob --------------------------------------
  async function fetchRecording(sessionId) {
    try {
      const response = await fetch(api(`sessions/${sessionId}/recording`), { credentials: "include" });
      const blob = await response.blob();
      return {
        ok: response.ok, status: response.status, redirected: response.redirected, url: response.url,
        contentType: response.headers.get("Content-Type"), size: blob.size, sha256: await sha256(blob),
      };
    } catch (error) {
      return { ok: false, error: `${error.name}: ${error.message}` };
    }
  }

  // ---- the <video> player: metadata, learning the duration, seeking, reading the shown frame's pixel ----------
  // `sessionId`: through GET /sessions/{id}/recording (its 302); `url`: straight from that address.
  // `learnDuration: false` seeks without first reading to the end when no duration is stated (what a user's seek
  // costs then). Times are milliseconds from setting `src` (`metadataMs`, `durationKnownMs`, each event's `ms`)
  // or from setting `currentTime` (each seek's `ms`); `startedAt` and each seek's `seekedAt` are Date.now().
  // `durationLearnt`: the duration was not stated at metadata and a seek to the end had to learn it.
  async function playVideo({ sessionId, url, crossOrigin = "use-credentials", seekTo = [], timeoutMs = 15000,
                             learnDuration = true }) {
    const video = document.createElement("video");
    if (crossOrigin !== null) video.crossOrigin = crossOrigin;
    video.muted = true;
    video.preload = "auto";
    const events = [];
    let started = performance.now();
    const since = (at) => Math.round(performance.now() - at);
    for (const type of ["loadedmetadata", "durationchange", "loadeddata", "seeking", "seeked", "error"]) {
      video.addEventListener(type, () => events.push({ type, ms: since(started), currentTime: video.currentTime,
                                                       duration: String(video.duration) }));
    }
    stage().append(video);
    const result = { crossOrigin, events, seeks: [] };
    try {
      result.startedAt = Date.now();
      started = performance.now();
      video.src = url ?? api(`sessions/${sessionId}/recording`);
      await once(video, "loadedmetadata", timeoutMs);
      result.metadataMs = since(started);
      result.durationAtMetadata = String(video.duration);
      if (!Number.isFinite(video.duration) && learnDuration) {
        // MediaRecorder's WebM states no duration; a seek past the end makes Chromium read to the end and learn it
        result.durationLearnt = true;
        const learnt = once(video, "seeked", timeoutMs);
        video.currentTime = Number.MAX_SAFE_INTEGER;
        await learnt;
      }
      if (Number.isFinite(video.duration)) result.durationKnownMs = since(started);
      result.duration = video.duration;
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const ctx = canvas.getContext("2d", { willReadFrequently: true });
      const times = seekTo.length ? seekTo : [video.duration / 2];
      for (const time of times) {
        // `seeked` can come before the sought frame is presented, and drawImage then copies the frame shown
        // before the seek: wait for the presentation too (it never comes if the frame shown does not change)
        let giveUp;
        const before = video.currentTime;
        const presented = new Promise((resolve) => {
          // on a busy machine the frame shown before the seek can be presented late, after the seek began:
          // that one is not the sought frame, wait for the next
          const watch = (now, frame) => {
            if (Math.abs(frame.mediaTime - before) < 0.001) video.requestVideoFrameCallback(watch);
            else resolve(frame.mediaTime);
          };
          video.requestVideoFrameCallback(watch);
          giveUp = () => setTimeout(() => resolve(null), 1000);
        });
        const seeked = once(video, "seeked", timeoutMs);
        const seekStarted = performance.now();
        video.currentTime = time;
        await seeked;
        const ms = since(seekStarted);
        const seekedAt = Date.now();
        giveUp();  // a second from `seeked`, however long the seek took
        const mediaTime = await presented;
        let rgb = null;  // without crossorigin the frame cannot be read back (the canvas would be tainted)
        if (crossOrigin !== null) {
          ctx.drawImage(video, 0, 0);
          const pixel = ctx.getImageData(canvas.width >> 1, canvas.height >> 2, 1, 1).data;  // above any noise
          rgb = [pixel[0], pixel[1], pixel[2]];
        }
        result.seeks.push({ requested: time, ms, seekedAt, currentTime: video.currentTime, mediaTime, rgb });
      }
      result.ok = true;
    } catch (error) {
      result.ok = false;
      result.error = `${error.name}: ${error.message}`;
    }
    result.size = [video.videoWidth, video.videoHeight];
    result.readyState = video.readyState;
    video.remove();
    return result;
  }

  // ---- the SSH player: asciinema-player fed as the gateway does (text fetched, parsed line by line) or by URL --
  async function playCast(sessionId, { via = "text" } = {}) {
    const url = api(`sessions/${sessionId}/recording`);
    const holder = document.createElement("div");
    holder.id = `cast-${via}`;
    stage().append(holder);
    let source;
    if (via === "text") {
      const response = await fetch(url, { credentials: "include" });
      if (!response.ok) return { ok: false, status: response.status };
      const lines = (await response.text()).split("\n").filter((line) => line.trim());
      source = { data: lines.map((line) => JSON.parse(line)) };
    } else {
      source = { url, fetchOpts: { credentials: "include" } };
    }
    window.AsciinemaPlayer.create(source, holder, { autoPlay: true, speed: 20, idleTimeLimit: 0.1 });
    return { ok: true, holder: `#${holder.id}` };
  }

  window.browserCheck = { rdpSession, record, fetchRecording, playVideo, playCast, colourAt, palette: PALETTE };
})();
