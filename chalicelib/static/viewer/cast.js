// The SSH/Telnet player: asciinema-player fed the parsed cast, and beside it the command list (a click seeks).
import { el, clock } from "./dom.js";

// asciinema-player 3.18 takes the parsed lines ({data: [header, ...events]}), not the raw text
// (docs/browser-tests.md). A line that is not JSON (a cast cut mid-line by a crash) is left out.
export function parseCast(text) {
  const lines = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      // skipped: the rest of the cast still plays
    }
  }
  if (!lines.length || typeof lines[0] !== "object" || Array.isArray(lines[0])) {
    throw new Error("the recording is not an asciinema v2 cast");
  }
  return lines;
}

function firstLine(text) {
  const line = String(text ?? "").split("\n", 1)[0];
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

// Mounted into `where` before the player starts, so it measures its real width.
export function castPlayer(where, castLines, commands) {
  const screen = el("div", { class: "cast-screen" });
  const list = el("ol", { class: "commands", "aria-label": "Commands, in order: choose one to jump to its moment" });
  const side = el("section", { class: "command-pane" },
    el("h3", {}, `Commands (${commands.length})`),
    commands.length ? list : el("p", { class: "hint" }, "No commands were logged for this session."));
  const box = el("div", { class: "cast-player" }, screen, side);
  where.append(box);

  // The player's own markers show the commands on its progress bar too.
  const markers = commands.map((c) => [Number(c.elapsed) || 0, firstLine(c.command)]);
  const player = window.AsciinemaPlayer.create({ data: castLines }, screen, {
    fit: "width", terminalFontSize: "small", markers, preload: true, poster: "npt:0:0.5",
  });

  const items = commands.map((command) => {
    const elapsed = Number(command.elapsed) || 0;
    const button = el("button", { type: "button", class: "command", "data-elapsed": String(elapsed),
                                  onclick: async () => {
                                    await player.seek(elapsed);
                                    mark(elapsed);
                                  } },
      el("span", { class: "at" }, clock(elapsed)),
      el("code", {}, command.command ?? ""));
    const preview = command.output_preview
      ? el("pre", { class: "preview" }, command.output_preview)
      : null;
    return el("li", {}, button, preview);
  });
  list.replaceChildren(...items);

  // The command being shown (the last one at or before the play head) carries aria-current.
  const mark = (at) => {
    let current = -1;
    commands.forEach((c, i) => {
      if ((Number(c.elapsed) || 0) <= at + 0.001) current = i;
    });
    items.forEach((item, i) => {
      const button = item.querySelector("button");
      if (i === current) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    });
  };
  const timer = setInterval(() => {
    if (!box.isConnected) {
      clearInterval(timer);
      player.dispose();
      return;
    }
    mark(player.getCurrentTime() ?? 0);
  }, 500);

  box.player = player;
  return box;
}
