// Views that arrive with their own issues. Each says what it will do and
// what to use meanwhile, rather than pretend.
import { el } from "./ui.js";

export function initLater(root, { title, what, until }) {
  root.append(
    el("div", { class: "view-head" }, el("h1", {}, title)),
    el(
      "section",
      { class: "card placeholder", role: "note" },
      el("h2", {}, "Arrives with its issue"),
      el("p", {}, what),
      el("p", { class: "hint" }, until),
    ),
  );
  return { onShow: () => {} };
}
