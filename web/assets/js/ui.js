// DOM helpers for the views: element building without innerHTML (so no
// text from the node is ever parsed as markup), tables, the detail
// windows, error boxes that show the node's stable code, and formatting.
import { describeError } from "./api.js";

/**
 * el("td", {class: "x", onclick: fn}, "text", child...) builds an element.
 * Strings become text nodes; null and false children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) {
      continue;
    }
    if (k.startsWith("on") && typeof v === "function") {
      e.addEventListener(k.slice(2), v);
    } else if (k === "dataset") {
      Object.assign(e.dataset, v);
    } else {
      e.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) {
      continue;
    }
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** An id or hash shortened for tables, whole in the title and for copying. */
export function shortId(hex, n = 10) {
  if (typeof hex !== "string") {
    return el("span", {}, "—");
  }
  return el("code", { class: "id", title: hex }, hex.length > n + 2 ? `${hex.slice(0, n)}…` : hex);
}

export function fullId(hex) {
  return el("code", { class: "id id-full" }, hex ?? "—");
}

export function fmtTime(ms) {
  if (typeof ms !== "number" || ms <= 0) {
    return "—";
  }
  return new Date(ms).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

export function fmtAgo(ms, now = Date.now()) {
  if (typeof ms !== "number" || ms <= 0) {
    return "—";
  }
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) {
    return `${s} s ago`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ago`;
  }
  return `${Math.floor(s / 86400)} d ago`;
}

/**
 * A table: columns [{label, cell(row) -> node|string}], rows; an empty
 * list shows `empty`. onRow(row) makes rows clickable (and keyboard
 * reachable).
 */
export function table(
  columns,
  rows,
  { empty = "Nothing yet.", onRow = null, caption = null } = {},
) {
  if (rows.length === 0) {
    return el("p", { class: "empty" }, empty);
  }
  const head = el(
    "tr",
    {},
    columns.map((c) => el("th", { scope: "col" }, c.label)),
  );
  const body = rows.map((r) => {
    const tr = el(
      "tr",
      {},
      columns.map((c) => el("td", { "data-label": c.label }, c.cell(r))),
    );
    if (onRow) {
      tr.classList.add("clickable");
      tr.tabIndex = 0;
      tr.addEventListener("click", () => onRow(r));
      tr.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          onRow(r);
        }
      });
    }
    return tr;
  });
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      {},
      caption ? el("caption", {}, caption) : null,
      el("thead", {}, head),
      el("tbody", {}, body),
    ),
  );
}

/** A definition list of [label, value] pairs. */
export function fields(pairs) {
  return el(
    "dl",
    { class: "fields" },
    pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
  );
}

/** Shows an error (any thrown value) in box as "CODE: message". */
export function showError(box, e) {
  const { code, message } = describeError(e);
  clear(box);
  box.hidden = false;
  box.append(el("strong", { class: "code" }, code), ": ", message);
}

export function showNote(box, text, kind = "ok") {
  clear(box);
  box.hidden = false;
  box.className = `note note-${kind}`;
  box.append(text);
}

export function hide(box) {
  clear(box);
  box.hidden = true;
}

/** An error box: role=alert so screen readers announce it. */
export function errorBox() {
  return el("div", { class: "error", role: "alert", hidden: true });
}

/**
 * The detail window: a modal <dialog> with a title and a body. Opening
 * another replaces its contents; Escape and the close button close it.
 */
export function openWindow(dialog, title, body) {
  const heading = dialog.querySelector(".window-title");
  const content = dialog.querySelector(".window-body");
  heading.textContent = title;
  clear(content).append(body);
  if (!dialog.open) {
    dialog.showModal();
  }
  dialog.querySelector(".window-close").focus();
}

/** A result code as a badge: OK green, anything else red. */
export function resultBadge(code) {
  if (code === null || code === undefined) {
    return el("span", { class: "badge badge-wait" }, "pending");
  }
  return el("span", { class: code === "OK" ? "badge badge-ok" : "badge badge-bad" }, code);
}

export function statusBadge(text) {
  const cls =
    text === "active"
      ? "badge-ok"
      : text === "revoked" || text === "expired"
        ? "badge-bad"
        : "badge-wait";
  return el("span", { class: `badge ${cls}` }, text);
}
