// The block explorer: the chain's status, a live chart of blocks and
// transactions over time, the latest blocks and transactions, and detail
// windows for a block and a transaction. History comes from /v1/blocks,
// then everything new from the public event stream (GET /v1/events);
// after a reconnection the blocks missed meanwhile are read back.
//
// The chain holds no personal data and this view shows what the chain
// holds: heights, hashes, ids, contract and method names, result codes.
// It shows no call arguments.
import { getJson, status } from "./api.js";
import { BlockChart } from "./chart.js";
import { onEvent, onStreamState } from "./events.js";
import {
  $,
  clear,
  el,
  errorBox,
  fields,
  fmtAgo,
  fmtTime,
  fullId,
  openWindow,
  resultBadge,
  shortId,
  showError,
  hide,
  table,
} from "./ui.js";

const HISTORY_BLOCKS = 500;
const RECENT_ROWS = 15;
const SEED_BLOCK_READS = 5; // blocks read at start for the latest transactions
const STATUS_EVERY_MS = 1000; // at most one status read per second, however fast blocks come

export function initExplorer(root, win) {
  const state = { tip: 0, blocks: [], txs: [], statusAt: 0, statusTimer: null };
  const err = errorBox();
  const stats = el("div", { class: "stats", "aria-live": "polite" });
  const validators = el("div");
  const canvas = el("canvas", {
    id: "chart",
    role: "img",
    "aria-label": "Blocks and transactions over time",
  });
  const chart = new BlockChart(canvas);
  const blocksBox = el("div");
  const txsBox = el("div");
  const live = el("span", { class: "live", id: "explorer-live" }, "connecting…");

  const legendTx = el("li", { class: "legend-tx" });
  const legendBlock = el("li", { class: "legend-block" });
  function legend() {
    const s = chart.bucketMs() / 1000;
    const per = s < 60 ? `${s} s` : `${Math.round(s / 60)} min`;
    legendTx.textContent = `transactions per ${per} (left axis)`;
    legendBlock.textContent = `blocks per ${per} (right axis)`;
  }
  const windowSel = el(
    "select",
    {
      id: "chart-window",
      onchange: () => {
        chart.setWindow(Number(windowSel.value));
        legend();
      },
    },
    el("option", { value: 300000, selected: true }, "last 5 minutes"),
    el("option", { value: 3600000 }, "last hour"),
    el("option", { value: 86400000 }, "last day"),
  );

  const search = el("input", {
    id: "explorer-search",
    type: "search",
    placeholder: "height or transaction hash",
    "aria-label": "Block height or transaction hash",
  });
  const searchForm = el(
    "form",
    {
      class: "search",
      role: "search",
      onsubmit: (ev) => {
        ev.preventDefault();
        const q = search.value.trim();
        if (/^[0-9]+$/.test(q)) {
          showBlock(win, Number(q));
        } else if (/^[0-9a-fA-F]{64}$/.test(q)) {
          showTx(win, q.toLowerCase());
        } else {
          showError(err, {
            code: "BAD_REQUEST",
            message: "enter a block height or a 64-digit transaction hash",
          });
        }
      },
    },
    search,
    el("button", { type: "submit" }, "Look up"),
  );

  root.append(
    el("div", { class: "view-head" }, el("h1", {}, "Block explorer"), live),
    err,
    stats,
    el(
      "section",
      { class: "card", "aria-labelledby": "chart-h" },
      el(
        "div",
        { class: "card-head" },
        el("h2", { id: "chart-h" }, "Blocks and transactions over time"),
        el("label", { class: "inline" }, "Show ", windowSel),
      ),
      el("ul", { class: "legend" }, legendTx, legendBlock),
      el("div", { class: "chart-box" }, canvas),
    ),
    searchForm,
    el(
      "div",
      { class: "two-col" },
      el(
        "section",
        { class: "card", "aria-labelledby": "blocks-h" },
        el("h2", { id: "blocks-h" }, "Latest blocks"),
        blocksBox,
      ),
      el(
        "section",
        { class: "card", "aria-labelledby": "txs-h" },
        el("h2", { id: "txs-h" }, "Latest transactions"),
        txsBox,
      ),
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "val-h" },
      el("h2", { id: "val-h" }, "Validators"),
      validators,
    ),
  );

  function renderStats(st) {
    clear(stats).append(
      stat("Height", el("span", { id: "stat-height" }, String(st.height))),
      stat("Chain", el("span", { id: "stat-chain" }, st.chain_id)),
      stat("Validators", String(st.validators.length)),
      stat(
        "Last block",
        el("span", { title: fmtTime(st.last_block_time_ms) }, fmtAgo(st.last_block_time_ms)),
      ),
      stat("Mempool", `${st.mempool.txs} txs`),
    );
    clear(validators).append(
      table(
        [
          { label: "Id", cell: (v) => shortId(v.id, 16) },
          { label: "Public key", cell: (v) => shortId(v.pub_key, 16) },
          { label: "Power", cell: (v) => String(v.power) },
        ],
        st.validators,
      ),
    );
    const chainLabel = $("#chain-id");
    if (chainLabel) {
      chainLabel.textContent = st.chain_id;
    }
  }

  function renderBlocks() {
    clear(blocksBox).append(
      table(
        [
          { label: "Height", cell: (b) => el("span", { class: "num" }, String(b.height)) },
          {
            label: "Time",
            cell: (b) => el("span", { title: fmtTime(b.time_ms) }, fmtAgo(b.time_ms)),
          },
          { label: "Txs", cell: (b) => el("span", { class: "num" }, String(b.tx_count)) },
          { label: "Hash", cell: (b) => shortId(b.hash) },
        ],
        state.blocks,
        {
          empty: "No block yet.",
          onRow: (b) => showBlock(win, b.height),
          caption: "Select a block to see its header and transactions.",
        },
      ),
    );
    blocksBox.querySelector("table")?.setAttribute("id", "blocks-table");
  }

  function renderTxs() {
    clear(txsBox).append(
      table(
        [
          { label: "Height", cell: (t) => el("span", { class: "num" }, String(t.height)) },
          { label: "Call", cell: (t) => `${t.contract}.${t.method}` },
          { label: "Result", cell: (t) => resultBadge(t.result) },
          { label: "Hash", cell: (t) => shortId(t.hash) },
        ],
        state.txs,
        { empty: "No transaction in the latest blocks.", onRow: (t) => showTx(win, t.hash) },
      ),
    );
  }

  function addBlock(b) {
    chart.add(b);
    if (b.height > state.tip) {
      state.tip = b.height;
      const h = $("#stat-height");
      if (h) {
        h.textContent = String(b.height);
      }
    }
    if (!state.blocks.some((x) => x.height === b.height)) {
      state.blocks.push(b);
      state.blocks.sort((x, y) => y.height - x.height);
      state.blocks.length = Math.min(state.blocks.length, RECENT_ROWS);
    }
  }

  async function loadHistory(from) {
    let next = from;
    for (let page = 0; page < HISTORY_BLOCKS / 100 && next <= state.tip + 1; page++) {
      const body = await getJson(`/v1/blocks?from=${next}&limit=100`);
      for (const b of body.items) {
        addBlock(b);
      }
      if (body.items.length < 100) {
        break;
      }
      next = body.items[body.items.length - 1].height + 1;
    }
  }

  async function refresh() {
    try {
      const st = await status();
      state.tip = Math.max(state.tip, st.height);
      renderStats(st);
      hide(err);
      return st;
    } catch (e) {
      showError(err, e);
      return null;
    }
  }

  function refreshSoon() {
    if (state.statusTimer !== null) {
      return;
    }
    const wait = Math.max(0, state.statusAt + STATUS_EVERY_MS - Date.now());
    state.statusTimer = setTimeout(() => {
      state.statusTimer = null;
      state.statusAt = Date.now();
      refresh();
    }, wait);
  }

  /** The latest transactions before the page opened, from the newest blocks that have some. */
  async function seedTxs() {
    const withTxs = [...chart.blocks.entries()]
      .filter(([, b]) => b.tx_count > 0)
      .map(([h]) => h)
      .sort((x, y) => y - x)
      .slice(0, SEED_BLOCK_READS);
    for (const height of withTxs) {
      const b = await getJson(`/v1/blocks/${height}`);
      for (const t of [...b.txs].reverse()) {
        state.txs.push({
          hash: t.hash,
          height: b.height,
          contract: t.contract,
          method: t.method,
          result: t.result,
        });
      }
      if (state.txs.length >= RECENT_ROWS) {
        break;
      }
    }
    state.txs.length = Math.min(state.txs.length, RECENT_ROWS);
  }

  function connect() {
    onStreamState(async (st) => {
      live.textContent = st === "live" ? "live" : "reconnecting…";
      live.className = st === "live" ? "live live-on" : "live live-off";
      if (st !== "live") {
        return;
      }
      // What a broken stream (or a node that was down at start) missed.
      const now = await refresh();
      if (now === null) {
        return;
      }
      const from =
        chart.maxHeight > 0 ? chart.maxHeight + 1 : Math.max(1, now.height - HISTORY_BLOCKS + 1);
      if (from <= now.height) {
        await loadHistory(from).catch((e) => showError(err, e));
        renderBlocks();
        chart.draw();
      }
    });
    onEvent("block", (b) => {
      addBlock(b);
      renderBlocks();
      chart.draw();
      refreshSoon();
    });
    onEvent("tx", (t) => {
      state.txs.unshift(t);
      state.txs.length = Math.min(state.txs.length, RECENT_ROWS);
      renderTxs();
    });
  }

  async function start() {
    const st = await refresh();
    if (st !== null && st.height > 0) {
      await loadHistory(Math.max(1, st.height - HISTORY_BLOCKS + 1)).catch((e) =>
        showError(err, e),
      );
    }
    legend();
    renderBlocks();
    chart.draw();
    await seedTxs().catch((e) => showError(err, e));
    renderTxs();
    connect();
    setInterval(() => chart.draw(), 2000);
    window.addEventListener("resize", () => chart.draw());
  }

  start();
  return { onShow: () => chart.draw() };
}

function stat(label, value) {
  return el(
    "div",
    { class: "stat" },
    el("div", { class: "stat-label" }, label),
    el("div", { class: "stat-value" }, value),
  );
}

/** The detail window of block `height`: its header and its transactions. */
export async function showBlock(win, height) {
  const box = errorBox();
  openWindow(win, `Block ${height}`, el("p", {}, "Loading…"));
  let b;
  try {
    b = await getJson(`/v1/blocks/${height}`);
  } catch (e) {
    showError(box, e);
    openWindow(win, `Block ${height}`, box);
    return;
  }
  const body = el(
    "div",
    { class: "detail", id: "block-detail", dataset: { height: String(b.height) } },
    fields([
      ["Height", String(b.height)],
      ["Time", fmtTime(b.time_ms)],
      ["Hash", fullId(b.hash)],
      ["Chain", b.chain_id],
      ["Previous hash", fullId(b.prev_hash)],
      ["Last commit hash", fullId(b.last_commit_hash)],
      ["Transactions root", fullId(b.tx_root)],
      ["Results hash", fullId(b.results_hash)],
      ["State root", fullId(b.state_root)],
      ["Validators hash", fullId(b.validators_hash)],
      ["Proposer", fullId(b.proposer)],
      ["Commit", `round ${b.commit.round}, ${b.commit.signatures.length} signature(s)`],
    ]),
    el("h3", {}, `Transactions (${b.tx_count})`),
    table(
      [
        { label: "#", cell: (t) => String(b.txs.indexOf(t)) },
        { label: "Call", cell: (t) => `${t.contract}.${t.method}` },
        { label: "Sender", cell: (t) => shortId(t.sender) },
        { label: "Nonce", cell: (t) => String(t.nonce) },
        { label: "Result", cell: (t) => resultBadge(t.result) },
      ],
      b.txs,
      {
        empty: "No transaction: a heartbeat block.",
        onRow: (t) => showTx(win, t.hash, { block: b }),
      },
    ),
  );
  openWindow(win, `Block ${b.height}`, body);
}

/**
 * The detail window of transaction `hash`: where it is, its call, sender,
 * nonce and result. The block is read when not given.
 */
export async function showTx(win, hash, { block = null } = {}) {
  const box = errorBox();
  openWindow(win, "Transaction", el("p", {}, "Loading…"));
  let st;
  let b = block;
  try {
    st = await getJson(`/v1/txs/${hash}`);
    if (b === null && st.status === "committed") {
      b = await getJson(`/v1/blocks/${st.height}`);
    }
  } catch (e) {
    showError(box, e);
    openWindow(win, "Transaction", box);
    return;
  }
  const t = b ? b.txs.find((x) => x.hash === hash) : null;
  const body = el(
    "div",
    { class: "detail", id: "tx-detail" },
    fields([
      ["Hash", fullId(hash)],
      ["Status", st.status],
      ["Block", st.height === null ? "—" : String(st.height)],
      ["Index in block", st.index === null ? "—" : String(st.index)],
      ["Contract", t ? t.contract : "—"],
      ["Method", t ? t.method : "—"],
      ["Sender", t ? fullId(t.sender) : "—"],
      ["Nonce", t ? String(t.nonce) : "—"],
      ["Result", resultBadge(st.result)],
    ]),
    b
      ? el(
          "p",
          {},
          el(
            "button",
            { type: "button", class: "link", onclick: () => showBlock(win, b.height) },
            `Open block ${b.height}`,
          ),
        )
      : null,
  );
  openWindow(win, "Transaction", body);
}
