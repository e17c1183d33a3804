// BlockChart: blocks and transactions over time, drawn by hand on a
// canvas. The time window (5 minutes, an hour, a day) is cut into equal
// buckets; each bucket shows its transactions as a bar (left axis) and
// its blocks as a point on a line (right axis). Blocks come from the
// explorer (history from /v1/blocks, then live `block` events); the chart
// keeps one entry per height, so a block seen twice counts once.
//
// The canvas carries what it shows for people who cannot see it (its
// aria-label) and for tests (data-blocks, data-txs, data-height).

const MAX_BLOCKS = 20000;
const BUCKETS = 30;

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** The top of an axis with four equal, whole steps, at least v. */
function niceMax(v) {
  const step = Math.max(1, v / 4);
  const p = 10 ** Math.floor(Math.log10(step));
  for (const m of [1, 2, 3, 5, 10]) {
    if (m * p >= step) {
      return 4 * m * p;
    }
  }
  return 40 * p;
}

function windowLabel(ms) {
  if (ms < 3600000) {
    return `${Math.round(ms / 60000)} minutes`;
  }
  if (ms < 86400000) {
    return `${Math.round(ms / 3600000)} hour${ms === 3600000 ? "" : "s"}`;
  }
  return `${Math.round(ms / 86400000)} day`;
}

export class BlockChart {
  constructor(canvas, windowMs = 5 * 60000) {
    this.canvas = canvas;
    this.windowMs = windowMs;
    this.blocks = new Map(); // height -> {time_ms, tx_count}
    this.maxHeight = 0;
  }

  /** The time one bar covers. */
  bucketMs() {
    return this.windowMs / BUCKETS;
  }

  setWindow(ms) {
    this.windowMs = ms;
    this.draw();
  }

  add(b) {
    if (typeof b.height !== "number" || typeof b.time_ms !== "number") {
      return;
    }
    this.blocks.set(b.height, { time_ms: b.time_ms, tx_count: b.tx_count ?? 0 });
    this.maxHeight = Math.max(this.maxHeight, b.height);
    if (this.blocks.size > MAX_BLOCKS) {
      const oldest = [...this.blocks.keys()]
        .sort((x, y) => x - y)
        .slice(0, this.blocks.size - MAX_BLOCKS);
      for (const h of oldest) {
        this.blocks.delete(h);
      }
    }
  }

  /** Blocks and transactions per bucket over the window ending now. */
  buckets(now) {
    const size = this.bucketMs();
    const end = Math.ceil(now / size) * size;
    const start = end - this.windowMs;
    const out = Array.from({ length: BUCKETS }, () => ({ blocks: 0, txs: 0 }));
    for (const b of this.blocks.values()) {
      if (b.time_ms < start || b.time_ms >= end) {
        continue;
      }
      const i = Math.min(BUCKETS - 1, Math.floor((b.time_ms - start) / size));
      out[i].blocks++;
      out[i].txs += b.tx_count;
    }
    return { start, end, out };
  }

  draw(now = Date.now()) {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(240, c.clientWidth);
    const h = Math.max(160, c.clientHeight);
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);

    const { start, end, out } = this.buckets(now);
    const totalBlocks = out.reduce((s, b) => s + b.blocks, 0);
    const totalTxs = out.reduce((s, b) => s + b.txs, 0);
    const txMax = niceMax(Math.max(...out.map((b) => b.txs)));
    const blkMax = niceMax(Math.max(...out.map((b) => b.blocks)));

    const ink = cssVar("--ink-soft", "#555");
    const grid = cssVar("--line", "#ddd");
    const txColor = cssVar("--chart-tx", "#4a78c2");
    const blkColor = cssVar("--chart-block", "#d9822b");
    const pad = { l: 44, r: 40, t: 12, b: 28 };
    const pw = w - pad.l - pad.r;
    const ph = h - pad.t - pad.b;
    const bw = pw / BUCKETS;

    g.font = "12px system-ui, sans-serif";
    g.lineWidth = 1;
    g.strokeStyle = grid;
    g.fillStyle = ink;
    g.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const y = pad.t + ph - (ph * i) / 4;
      g.beginPath();
      g.moveTo(pad.l, Math.round(y) + 0.5);
      g.lineTo(pad.l + pw, Math.round(y) + 0.5);
      g.stroke();
      g.textAlign = "right";
      g.fillText(String(Math.round((txMax * i) / 4)), pad.l - 6, y);
      g.textAlign = "left";
      g.fillText(String(Math.round((blkMax * i) / 4)), pad.l + pw + 6, y);
    }

    g.fillStyle = txColor;
    out.forEach((b, i) => {
      if (b.txs > 0) {
        const bh = (ph * b.txs) / txMax;
        g.fillRect(pad.l + i * bw + 1, pad.t + ph - bh, Math.max(1, bw - 2), bh);
      }
    });

    g.strokeStyle = blkColor;
    g.fillStyle = blkColor;
    g.lineWidth = 2;
    g.beginPath();
    out.forEach((b, i) => {
      const x = pad.l + (i + 0.5) * bw;
      const y = pad.t + ph - (ph * b.blocks) / blkMax;
      if (i === 0) {
        g.moveTo(x, y);
      } else {
        g.lineTo(x, y);
      }
    });
    g.stroke();
    out.forEach((b, i) => {
      if (b.blocks > 0) {
        g.beginPath();
        g.arc(pad.l + (i + 0.5) * bw, pad.t + ph - (ph * b.blocks) / blkMax, 2.5, 0, 2 * Math.PI);
        g.fill();
      }
    });

    g.fillStyle = ink;
    g.textBaseline = "top";
    const tick = (t, align) => {
      g.textAlign = align;
      const x = pad.l + (pw * (t - start)) / (end - start);
      const d = new Date(t);
      const label =
        this.windowMs > 3600000
          ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
          : d.toLocaleTimeString(undefined, {
              hour: "2-digit",
              minute: "2-digit",
              second: "2-digit",
            });
      g.fillText(label, x, pad.t + ph + 8);
    };
    tick(start, "left");
    if (pw >= 420) {
      tick(start + (end - start) / 2, "center"); // room for three labels
    }
    tick(end, "right");

    c.dataset.blocks = String(totalBlocks);
    c.dataset.txs = String(totalTxs);
    c.dataset.height = String(this.maxHeight);
    c.setAttribute(
      "aria-label",
      `Blocks and transactions over the last ${windowLabel(this.windowMs)}: ` +
        `${totalBlocks} blocks, ${totalTxs} transactions; latest height ${this.maxHeight}.`,
    );
  }
}
