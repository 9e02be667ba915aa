// The sharing graph: modules as an indented tree, each tensor once beside its first holder, a lane from
// a tensor to every other module holding it, a dashed line to each module that borrows it.
// Python sends plain data (graph_page.graph_payload) in the trait `payloads` ({shared, twin}) and the
// side on show in `side`; everything else (click to light, unfold, hover, SVG export) runs here.
// Rows are virtualised (only those near the viewport are in the DOM), so 10,000 tensors stay quick.
// Contract: root .psv-graph[data-version] (+1 per redraw); [data-module] rows; [data-tensor] nodes;
// a clicked tensor puts .psv-lit on every row that holds or borrows it.

const ROW = 24; // px per row
const INDENT = 16; // px per depth level
const SLOT = 215; // px per tensor slot
const MAX_SLOTS = 4; // tensors drawn per row before "+N more"
const LANE = 12; // px between lanes
const LANE_SPAN = 288; // px all lanes together take at most
const VIEW_MAX = 640; // px of graph shown before it scrolls
const MARGIN = 30; // rows drawn above and below the viewport
const FONT = "12px Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const SVGNS = "http://www.w3.org/2000/svg";
const FOLD = /\[(\d+)-(\d+)\]$/;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// As units.fmt_bytes in Python (the cards and tables): binary units, one decimal.
function fmtBytes(n) {
  const units = [[2 ** 50, "PiB"], [2 ** 40, "TiB"], [2 ** 30, "GiB"], [2 ** 20, "MiB"], [2 ** 10, "KiB"]];
  for (const [div, unit] of units) {
    if (n >= div) return `${(n / div).toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 })} ${unit}`;
  }
  return `${Math.trunc(n)} B`;
}
const num = (n) => n.toLocaleString("en-US");
const shapeText = (s) => (s.length ? s.join("×") : "scalar");
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function substitute(name, subst) {
  for (const [from, to] of subst) {
    if (name === from) name = to;
    else if (name.startsWith(from + ".")) name = to + name.slice(from.length);
  }
  return name;
}

// The rows and tensors on show: the payload's tree with the unfolded runs opened.
function buildView(P, unfolded, expanded, measure) {
  const children = P.rows.map(() => []);
  P.rows.forEach((r, i) => { if (r.parent >= 0) children[r.parent].push(i); });
  const rows = [];
  const tensors = new Map(); // key -> tensor on show
  const tensorOf = (k, subst) => {
    const T = P.tensors[k];
    let key = T.label, names = T.names, copies = T.copies;
    if (T.copies > 1 && subst.length) {
      key = substitute(T.label, subst);
      if (key !== T.label) {
        const prefix = subst[subst.length - 1][1] + ".";
        names = T.names.filter((n) => n.startsWith(prefix));
        copies = names.length;
      }
    }
    if (!tensors.has(key)) {
      const part = copies / T.copies;
      tensors.set(key, { ...T, key, label: key, names, copies, numel: Math.round(T.numel * part),
        bytes: Math.round(T.bytes * part), uses: T.uses === null ? null : Math.round(T.uses * part),
        applications: T.applications === null ? null : Math.round(T.applications * part), template: k });
    }
    return key;
  };
  // A row of template t under `div` unfolded copies: its counts are per copy (copies / div modules).
  const add = (t, name, depth, parent, div, extra) => {
    const objects = Math.max(1, Math.round(t.objects / div));
    const calls = t.calls === null ? null : Math.round((t.calls * objects) / t.objects);
    const row = { name, type: t.type, depth, parent, copies: t.copies / div, objects, calls,
      runs: calls === null ? null : Math.round(calls / objects), note: t.note, aliases: div > 1 ? [] : t.aliases,
      fold: null, open: false, member: false, holds: [], borrows: [], ...extra };
    row.index = rows.length;
    rows.push(row);
    return row;
  };
  const visit = (i, subst, depth, parent, div) => {
    const t = P.rows[i];
    const name = substitute(t.name, subst);
    const keys = (ks, s) => ks.map((k) => tensorOf(k, s));
    if (t.fold && unfolded.has(name)) {
      const head = add(t, name, depth, parent, div, { fold: t.fold, open: true });
      const n = t.fold[1] - t.fold[0] + 1;
      const base = name.slice(0, name.length - name.match(FOLD)[0].length);
      for (let j = t.fold[0]; j <= t.fold[1]; j += 1) {
        const s = [...subst, [name, base + j]];
        const member = add(t, base + j, depth + 1, head, div * n, { member: true, holds: keys(t.holds, s),
          borrows: keys(t.borrows, s) });
        for (const c of children[i]) visit(c, s, depth + 2, member, div * n);
      }
      return;
    }
    const row = add(t, name, depth, parent, div, { fold: t.fold, holds: keys(t.holds, subst),
      borrows: keys(t.borrows, subst) });
    for (const c of children[i]) visit(c, subst, depth + 1, row, div);
  };
  if (P.rows.length) visit(0, [], 0, null, 1);

  // Each tensor once, on its first holder's row; a lane when other rows hold it too.
  const holders = new Map(), borrowers = new Map(), place = new Map(), perRow = rows.map(() => []);
  for (const r of rows) {
    for (const k of r.holds) {
      if (!holders.has(k)) holders.set(k, []);
      const hs = holders.get(k);
      if (hs[hs.length - 1] !== r.index) hs.push(r.index);
    }
    for (const k of r.borrows) {
      if (!borrowers.has(k)) borrowers.set(k, []);
      borrowers.get(k).push(r.index);
    }
  }
  const lanes = new Map();
  for (const [k, hs] of holders) {
    if (hs.length > 1) lanes.set(k, lanes.size);
    perRow[hs[0]].push(k);
  }
  for (const [k, bs] of borrowers) if (!holders.has(k)) { holders.set(k, []); perRow[bs[0]].push(k); }
  let slotsUsed = 0, more = false;
  perRow.forEach((ks, r) => {
    ks.sort((a, b) => (lanes.has(b) ? 1 : 0) - (lanes.has(a) ? 1 : 0));
    const shown = expanded.has(rows[r].name) ? ks.length : MAX_SLOTS;
    ks.forEach((k, slot) => place.set(k, { row: r, slot: Math.min(slot, shown), hidden: slot >= shown }));
    rows[r].more = Math.max(0, ks.length - shown);
    more = more || rows[r].more > 0;
    slotsUsed = Math.max(slotsUsed, Math.min(ks.length, shown));
  });
  // Horizontal layout: labels, then the ports, then the lanes, then the tensors.
  let labelMax = 0;
  for (const r of rows) {
    const above = r.member ? r.parent.parent : r.parent; // a member (h.3) reads from its run's parent (h)
    r.label = r.parent === null ? (r.name || "(model)") : r.name.slice(above && above.name ? above.name.length + 1 : 0);
    r.badges = badges(r);
    const text = [r.label, r.badges.copies, r.type, r.badges.runs, r.note].filter(Boolean).join("  ");
    r.x = r.depth * INDENT;
    r.end = r.x + 14 + measure(text) + (r.fold ? 26 : 0);
    labelMax = Math.max(labelMax, r.end);
  }
  const xPort = labelMax + 14;
  const gap = lanes.size ? Math.min(LANE, LANE_SPAN / lanes.size) : 0;
  const xTensor = xPort + 18 + lanes.size * gap;
  const width = xTensor + Math.max(slotsUsed, 1) * SLOT + (more ? 90 : 0);
  return { P, rows, tensors, holders, borrowers, place, perRow, lanes, gap, xPort, xTensor, width,
    height: rows.length * ROW + 8 };
}

function badges(r) {
  const p = r.parent;
  let copies = "", runs = "";
  if (r.copies > 1 && !(p && p.copies === r.copies && p.objects === r.objects)) {
    if (r.objects === 1) copies = `1 module under ${r.copies} names`;
    else if (r.objects === r.copies) copies = `×${r.copies}`;
    else copies = `×${r.copies} (${r.objects} modules)`;
  }
  if ((r.runs || 0) > 1 && !(p && p.runs === r.runs)) runs = `runs ${r.runs}×`;
  return { copies, runs };
}

function tensorColour(view, k) {
  const t = view.tensors.get(k), pal = view.P.palette;
  if (t.kind === "group") return view.lanes.has(k) ? pal.groups[view.lanes.get(k) % pal.groups.length] : pal.in_row;
  if (t.kind === "borrowed" || t.kind === "reused") return pal.reused;
  return pal.plain;
}

const laneX = (view, k) => view.xPort + 10 + view.lanes.get(k) * view.gap;
const rowY = (r) => r * ROW + ROW / 2;
function tensorX(view, k) {
  const p = view.place.get(k);
  return p.hidden ? view.xTensor + MAX_SLOTS * SLOT + 4 : view.xTensor + p.slot * SLOT;
}

// Lines between rows a..b (inclusive), as SVG markup: tree elbows, ports, lanes, borrows.
function linesSVG(view, a, b, lit) {
  const out = [];
  const line = (x1, y1, x2, y2, cls, colour) =>
    out.push(`<path class="${cls}" d="M${x1} ${y1}L${x2} ${y2}"${colour ? ` stroke="${colour}"` : ""}/>`);
  for (let r = a; r <= b; r += 1) {
    const row = view.rows[r];
    if (row.parent) {
      const px = row.parent.x + 5, y = rowY(r);
      out.push(`<path class="psv-tree" d="M${px} ${rowY(row.parent.index)}V${y}H${row.x + 1}"/>`);
    }
    if (view.perRow[r].length || row.borrows.length) line(row.end + 4, rowY(r), view.xPort, rowY(r), "psv-guide");
    const first = view.perRow[r][0];
    if (first !== undefined && !view.lanes.has(first)) {
      line(view.xPort, rowY(r), tensorX(view, first) - 2, rowY(r), lit.tensors.has(first) ? "psv-edge psv-lit" : "psv-edge");
    }
  }
  for (const k of view.lanes.keys()) {
    const hs = view.holders.get(k), top = hs[0], bottom = hs[hs.length - 1];
    if (bottom < a || top > b) continue;
    const x = laneX(view, k), on = lit.tensors.has(k);
    const cls = on ? "psv-lane psv-lit" : "psv-lane", colour = on ? null : tensorColour(view, k);
    line(x, rowY(top), x, rowY(bottom), cls, colour);
    for (const r of hs) if (r >= a && r <= b) line(view.xPort, rowY(r), x, rowY(r), cls, colour);
    const p = view.place.get(k);
    line(x, rowY(p.row), tensorX(view, k) - 2, rowY(p.row), cls, colour);
  }
  for (const [k, bs] of view.borrowers) {
    const p = view.place.get(k);
    for (const r of bs) {
      if ((r < a || r > b) && (p.row < a || p.row > b)) continue;
      const on = lit.tensors.has(k) && lit.rows.has(r);
      line(view.rows[r].end + 4, rowY(r), tensorX(view, k) - 4, rowY(p.row), on ? "psv-borrow psv-lit" : "psv-borrow");
    }
  }
  return out.join("");
}

function litSets(view, lit) {
  const rows = new Set(), tensors = new Set();
  if (lit && lit.tensor !== undefined && view.tensors.has(lit.tensor)) {
    tensors.add(lit.tensor);
    for (const r of view.holders.get(lit.tensor) || []) rows.add(r);
    for (const r of view.borrowers.get(lit.tensor) || []) rows.add(r);
  } else if (lit && lit.module !== undefined) {
    const row = view.rows.find((r) => r.name === lit.module);
    if (row) {
      rows.add(row.index);
      for (const k of [...row.holds, ...row.borrows]) tensors.add(k);
    }
  }
  return { rows, tensors, any: rows.size + tensors.size > 0 };
}

function clickLine(view, lit) {
  const names = (list, n = 12) => list.slice(0, n).map((x) => `<code>${esc(x)}</code>`).join(", ")
    + (list.length > n ? ` … and ${list.length - n} more` : "");
  const rowNames = (rs) => rs.map((r) => `<b>${esc(view.rows[r].name || "(model)")}</b>`).join(", ");
  if (lit && lit.tensor !== undefined && view.tensors.has(lit.tensor)) {
    const t = view.tensors.get(lit.tensor);
    const what = t.names.length > 1 ? "one tensor under" : "tensor";
    const bs = view.borrowers.get(lit.tensor) || [];
    return `${what} ${names(t.names)} — held by ${rowNames(view.holders.get(lit.tensor) || [])}`
      + (bs.length ? `; also read by ${rowNames(bs)}, which does not hold it` : "");
  }
  if (lit && lit.module !== undefined) {
    const row = view.rows.find((r) => r.name === lit.module);
    if (row) {
      const own = row.holds.length ? names(row.holds) : "no tensor of its own";
      return `<b>${esc(row.name || "(model)")}</b> holds ${own}`;
    }
  }
  return "Click a tensor (a square) to light every module that holds it, or a module to light its tensors; "
    + "▸ opens a folded row. Tab and Enter work too.";
}

function tensorTip(view, k) {
  const t = view.tensors.get(k);
  const what = t.kind === "group" ? `<b>one tensor under ${t.names.length} names</b>`
    : t.kind === "borrowed" ? "<b>read by a module that does not hold it</b>"
      : t.kind === "reused" ? "<b>reused in each forward (its module runs more than once, or slides it)</b>"
        : "held by one module";
  const copies = t.copies > 1 ? ` (each of ${t.copies} copies)` : "";
  const holders = (view.holders.get(k) || []).map((r) => view.rows[r].name || "(model)");
  const lines = [what, t.names.slice(0, 10).map(esc).join("<br>") + (t.names.length > 10 ? `<br>… and ${t.names.length - 10} more` : ""),
    `shape ${shapeText(t.shape)}${copies} · ${esc(t.dtype)}${t.buffer ? " · buffer" : ""}`,
    `${num(t.numel)} elements · ${fmtBytes(t.bytes)}${t.copies > 1 ? " in total" : ""}`,
    `held by: ${esc(holders.slice(0, 6).join(", "))}${holders.length > 6 ? " …" : ""}`];
  const bs = (view.borrowers.get(k) || []).map((r) => view.rows[r].name || "(model)");
  if (bs.length) lines.push(`also read by (borrows it): ${esc(bs.join(", "))}`);
  if (t.uses !== null && t.uses !== undefined) {
    let u = `uses in one forward: ${num(t.uses)} call${t.uses === 1 ? "" : "s"}${t.copies > 1 ? " in all copies" : ""}`;
    if (t.applications !== null && t.applications !== undefined) u += `, applied at ${num(t.applications)} ${esc(t.applied_over)} inside them`;
    lines.push(u);
  }
  return lines.join("<br>");
}

function rowTip(row) {
  const lines = [`<b>${esc(row.name || "(model)")}</b> · ${esc(row.type)}`];
  if (row.copies > 1) lines.push(`${row.objects === 1 ? "one module object under" : `${row.objects} identical modules,`} ${row.copies} names`);
  if (row.calls !== null && row.calls !== undefined) lines.push(`forward calls: ${num(row.calls)}${row.objects > 1 ? ` (${row.runs}× per module)` : ""}`);
  if (row.aliases && row.aliases.length) lines.push(`also named: ${esc(row.aliases.slice(0, 4).join(", "))}`);
  if (row.note) lines.push(esc(row.note));
  lines.push(`tensors held directly: ${row.holds.length}`);
  if (row.fold) lines.push(row.open ? "▾ folds the run back into one row" : "▸ opens the run into one row per copy");
  return lines.join("<br>");
}

function title(P) {
  const twin = P.twin ? " (unshared twin)" : "";
  return `<b>${esc(P.model_type)}</b>${twin}: ${esc(P.summary)}${P.note ? ` · ${esc(P.note)}` : ""}`;
}

function legend(view) {
  const pal = view.P.palette, kinds = new Set([...view.tensors.keys()].map((k) => tensorColour(view, k)));
  const items = [
    [pal.module, "module (◆ identical modules folded into one row, ▸ opens it)", true],
    [pal.plain, "tensor held by one module", kinds.has(pal.plain)],
    [pal.groups[0], "one tensor held by every module its lane joins", pal.groups.some((c) => kinds.has(c))],
    [pal.in_row, "one tensor under all the names folded into its row", kinds.has(pal.in_row)],
    [pal.reused, "tensor reused in each forward (its module runs N×, or slides it)", kinds.has(pal.reused)],
    [pal.borrowed, "dashed: a module reading a tensor it does not hold", view.borrowers.size > 0],
  ];
  return items.filter((i) => i[2]).map(([c, text]) =>
    `<span class="psv-key"><i style="background:${c}"></i>${esc(text)}</span>`).join("");
}

function unnamed(P) {
  const parts = [];
  for (const hm of P.head_maps) {
    let where = hm.modules.slice(0, 2).join(", ") || "(model)";
    if (hm.modules.length > 2) where += ` and ${hm.modules.length - 2} more`;
    const rows = hm.readers.slice(0, 16).map((r, k) => `<tr><td>${k}</td><td>${r.join(", ")}</td></tr>`).join("");
    const more = hm.kv_heads > 16 ? `<tr><td colspan="2">… and ${hm.kv_heads - 16} more K/V heads</td></tr>` : "";
    parts.push(`<div><b>Head map</b> of <code>${esc(where)}</code>: ${hm.num_heads} query heads read ${hm.kv_heads} `
      + `K/V head${hm.kv_heads > 1 ? "s" : ""}, ${hm.num_heads / hm.kv_heads} each: one K/V weight slice serves every `
      + "query head of its group, inside each call (no name or call count shows it).</div>"
      + `<table class="psv-head-map"><tr><th>K/V head</th><th>query heads that read it</th></tr>${rows}${more}</table>`);
  }
  if (P.frozen_params) {
    const total = P.frozen_params + P.trainable_params;
    parts.push(`<div class="psv-trainable"><b>Trainable ${num(P.trainable_params)}</b> · <b>frozen `
      + `${num(P.frozen_params)}</b> (requires_grad=False) of ${num(total)} unique parameters: training updates, and `
      + "keeps optimizer state for, the trainable ones only; the frozen ones are still read in every forward.</div>");
  }
  return parts.join("");
}

// The whole graph (every row, no virtualisation) as one SVG document.
function toSVG(view) {
  const top = 40, w = Math.ceil(view.width + 20), h = Math.ceil(view.height + top + 10);
  const parts = [`<svg xmlns="${SVGNS}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<style>path{fill:none;stroke-width:1.5}.psv-tree{stroke:#d1d5db}.psv-guide{stroke:#e5e7eb;stroke-dasharray:2 3}`
    + `.psv-edge{stroke:#9ca3af}.psv-lane{stroke-width:2.5}.psv-borrow{stroke:${view.P.palette.borrowed};stroke-dasharray:5 4}`
    + ".psv-lit{stroke:#111827;stroke-width:3}</style>",
    `<text x="10" y="20" font-size="14"><tspan font-weight="bold">${esc(view.P.model_type)}</tspan>: ${esc(view.P.summary)}</text>`,
    `<g transform="translate(10 ${top})">`, linesSVG(view, 0, view.rows.length - 1, litSets(view, null))];
  for (const r of view.rows) {
    const y = rowY(r.index);
    parts.push(`<circle cx="${r.x + 5}" cy="${y}" r="4" fill="${r.runs > 1 ? view.P.palette.reused : view.P.palette.module}"/>`,
      `<text x="${r.x + 14}" y="${y + 4}">${esc(r.label)}${r.badges.copies ? ` <tspan font-weight="bold">${esc(r.badges.copies)}</tspan>` : ""}`
      + ` <tspan fill="#6b7280">${esc(r.type)}</tspan>${r.badges.runs ? ` <tspan fill="${view.P.palette.reused}">${esc(r.badges.runs)}</tspan>` : ""}</text>`);
    if (r.more) parts.push(`<text x="${view.xTensor + MAX_SLOTS * SLOT + 4}" y="${y + 4}" fill="#6b7280">+${r.more} more</text>`);
  }
  for (const [k, p] of view.place) {
    if (p.hidden) continue;
    const t = view.tensors.get(k), x = tensorX(view, k), y = rowY(p.row);
    parts.push(`<rect x="${x}" y="${y - 6}" width="12" height="12" rx="2" fill="${tensorColour(view, k)}" stroke="#6b7280"/>`,
      `<text x="${x + 17}" y="${y + 4}">${esc(chipText(t, view.lanes.has(k)))}</text>`);
  }
  parts.push("</g></svg>");
  return parts.join("");
}

function chipText(t, lane) {
  let text = `${t.label.split(".").pop()} ${shapeText(t.shape)}`;
  if (text.length > 22) text = text.slice(0, 21) + "…";
  if (t.copies > 1) text += ` ×${t.copies}`;
  if (t.kind === "group" && lane) text += ` · ${t.names.length} names`;
  return text;
}

class GraphFront {
  constructor(root, model) {
    this.model = model;
    this.root = root;
    this.version = 0;
    this.unfolded = new Set();
    this.expanded = new Set();
    this.lit = null;
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = FONT;
    this.measure = (s) => ctx.measureText(s).width;
    root.innerHTML = "";
    const head = el("div", "psv-graph-head");
    this.titleEl = el("div", "psv-graph-title");
    const bar = el("div", "psv-graph-bar");
    this.legendEl = el("div", "psv-graph-legend");
    const save = el("button", "psv-graph-save", "Save SVG");
    save.title = "Download the whole graph as an SVG file";
    save.onclick = () => this.saveSVG();
    bar.append(this.legendEl, save);
    head.append(this.titleEl, el("div", "psv-graph-caption",
      "Rows are modules, indented inside their parent. Squares are tensors in memory, each drawn once; a square "
      + "joined to several modules is one tensor they all use. Hover for names, shapes and bytes."), bar);
    this.clickedEl = el("div", "psv-graph-clicked");
    this.viewport = el("div", "psv-graph-view");
    this.canvas = el("div", "psv-graph-canvas");
    this.svg = document.createElementNS(SVGNS, "svg");
    this.svg.setAttribute("class", "psv-graph-lines");
    this.layer = el("div", "psv-graph-layer");
    this.canvas.append(this.svg, this.layer);
    this.viewport.append(this.canvas);
    this.tip = el("div", "psv-tip");
    this.unnamedEl = el("div", "psv-graph-unnamed");
    root.append(head, this.clickedEl, this.viewport, this.tip, this.unnamedEl);
    this.rowEls = new Map();
    this.tensorEls = new Map();
    // The scroll position is kept from scroll events, not read in paint: reading it (or any size) would
    // force a layout of the whole page in the middle of a batch of widget updates.
    this.scrollTop = 0;
    this.viewport.addEventListener("scroll", () => { this.scrollTop = this.viewport.scrollTop; this.paint(false); });
    this.layer.addEventListener("click", (e) => this.onClick(e));
    this.layer.addEventListener("keydown", (e) => {
      if ((e.key === "Enter" || e.key === " ") && e.target.closest("[data-tensor],[data-module]") === e.target) {
        e.preventDefault();
        this.onClick(e);
      }
    });
    this.layer.addEventListener("mouseover", (e) => this.showTip(e));
    this.layer.addEventListener("focusin", (e) => this.showTip(e));
    this.layer.addEventListener("mouseleave", () => { this.tip.style.display = "none"; });
    this.layer.addEventListener("focusout", () => { this.tip.style.display = "none"; });
  }

  payload() {
    const ps = this.model.get("payloads") || {};
    return (this.model.get("side") === "twin" && ps.twin) ? ps.twin : ps.shared;
  }

  // A new payload or side: rebuild the view, keep the DOM (rows keyed by name move to their new place).
  update(animate) {
    const P = this.payload();
    if (!P) return;
    this.view = buildView(P, this.unfolded, this.expanded, this.measure);
    this.titleEl.innerHTML = title(P);
    this.legendEl.innerHTML = legend(this.view);
    this.unnamedEl.innerHTML = unnamed(P);
    this.viewport.style.height = `${Math.min(this.view.height, VIEW_MAX)}px`;
    this.canvas.style.width = `${this.view.width}px`;
    this.canvas.style.height = `${this.view.height}px`;
    this.svg.setAttribute("width", this.view.width);
    this.animate(animate);
    this.paint(true);
  }

  // Rows keyed by name glide to their new place (CSS transitions) for a moment after a toggle.
  animate(on) {
    clearTimeout(this.animateTimer);
    this.root.classList.toggle("psv-animate", on);
    if (on) this.animateTimer = setTimeout(() => this.root.classList.remove("psv-animate"), 450);
  }

  paint(redraw) {
    const view = this.view;
    if (!view) return;
    const lit = litSets(view, this.lit);
    const height = Math.min(view.height, VIEW_MAX); // the viewport's height: update() sets it
    const top = Math.min(this.scrollTop, Math.max(0, view.height - height)); // as the browser clamps it
    const a = Math.max(0, Math.floor(top / ROW) - MARGIN);
    const b = Math.min(view.rows.length - 1, Math.ceil((top + height) / ROW) + MARGIN);
    if (!redraw && a === this.a && b === this.b) return;
    this.a = a; this.b = b;
    // The SVG covers the rows drawn only (a tall SVG costs Chromium a repaint of every tile on a click).
    this.svg.style.top = `${a * ROW}px`;
    this.svg.setAttribute("height", (b - a + 1) * ROW + ROW);
    this.svg.innerHTML = `<g transform="translate(0 ${-a * ROW})">${linesSVG(view, a, b, lit)}</g>`;
    const seenRows = new Set(), seenTensors = new Set();
    for (let r = a; r <= b; r += 1) {
      const row = view.rows[r];
      seenRows.add(row.name);
      let e = this.rowEls.get(row.name);
      const fresh = !e;
      if (fresh) {
        e = el("div", "psv-row");
        e.dataset.module = row.name;
        e.tabIndex = 0;
        e.setAttribute("role", "button");
        this.layer.append(e);
        this.rowEls.set(row.name, e);
      }
      const sig = [row.label, row.badges.copies, row.badges.runs, row.type, row.note, row.fold, row.open, row.more, row.runs].join("|");
      if (e._sig !== sig) {
        e._sig = sig;
        const toggle = row.fold ? `<button class="psv-fold" tabindex="0" title="${row.open ? "fold the run into one row" : "open the run: one row per copy"}">${row.open ? "▾" : "▸"}</button>` : "";
        e.innerHTML = `<span class="psv-dot${row.copies > 1 ? " psv-folded" : ""}${row.runs > 1 ? " psv-runs" : ""}"></span>${toggle}`
          + `<span class="psv-name">${esc(row.label)}</span>`
          + (row.badges.copies ? ` <b class="psv-copies">${esc(row.badges.copies)}</b>` : "")
          + ` <span class="psv-type">${esc(row.type)}</span>`
          + (row.badges.runs ? ` <b class="psv-runs-badge">${esc(row.badges.runs)}</b>` : "")
          + (row.note ? ` <i class="psv-note">${esc(row.note)}</i>` : "");
      }
      e._row = r;
      e.classList.toggle("psv-lit", lit.rows.has(r));
      e.classList.toggle("psv-open", row.open);
      this.move(e, row.x, r * ROW, fresh);
      if (row.more) {
        const key = `more:${row.name}`;
        seenTensors.add(key);
        let m = this.tensorEls.get(key);
        if (!m) {
          m = el("div", "psv-more");
          m.tabIndex = 0;
          m.setAttribute("role", "button");
          this.layer.append(m);
          this.tensorEls.set(key, m);
        }
        m.dataset.moreOf = row.name;
        m.textContent = `+${row.more} more`;
        this.move(m, view.xTensor + MAX_SLOTS * SLOT, r * ROW, false);
      }
      for (const k of view.perRow[r]) {
        const p = view.place.get(k);
        if (p.hidden) continue;
        seenTensors.add(k);
        let t = this.tensorEls.get(k);
        const freshT = !t;
        if (freshT) {
          t = el("div", "psv-tensor");
          t.dataset.tensor = k;
          t.tabIndex = 0;
          t.setAttribute("role", "button");
          this.layer.append(t);
          this.tensorEls.set(k, t);
        }
        const tv = view.tensors.get(k), colour = tensorColour(view, k);
        const sig = `${colour}|${chipText(tv, view.lanes.has(k))}`;
        if (t._sig !== sig) {
          t._sig = sig;
          t.innerHTML = `<i style="background:${colour}"></i><span>${esc(chipText(tv, view.lanes.has(k)))}</span>`;
          t.classList.toggle("psv-shared", tv.kind === "group");
        }
        t.classList.toggle("psv-lit", lit.tensors.has(k));
        this.move(t, tensorX(view, k), r * ROW, freshT);
      }
    }
    for (const [name, e] of this.rowEls) if (!seenRows.has(name)) { e.remove(); this.rowEls.delete(name); }
    for (const [k, e] of this.tensorEls) if (!seenTensors.has(k)) { e.remove(); this.tensorEls.delete(k); }
    this.root.classList.toggle("psv-dim", lit.any);
    if (redraw) {
      this.clickedEl.innerHTML = clickLine(view, this.lit);
      this.version += 1;
      this.root.dataset.version = String(this.version);
    }
  }

  move(e, x, y, fresh) {
    e.style.transform = `translate(${x}px, ${y}px)`;
    if (fresh && this.root.classList.contains("psv-animate")) {
      e.classList.add("psv-enter");
      requestAnimationFrame(() => requestAnimationFrame(() => e.classList.remove("psv-enter")));
    }
  }

  onClick(e) {
    const fold = e.target.closest(".psv-fold");
    const row = e.target.closest("[data-module]");
    const tensor = e.target.closest("[data-tensor]");
    const more = e.target.closest(".psv-more");
    this.animate(false);
    if (fold && row) {
      const name = row.dataset.module;
      if (this.unfolded.has(name)) this.unfolded.delete(name); else this.unfolded.add(name);
      this.view = buildView(this.view.P, this.unfolded, this.expanded, this.measure);
      this.animate(true);
      this.relayout();
    } else if (more) {
      this.expanded.add(more.dataset.moreOf);
      this.view = buildView(this.view.P, this.unfolded, this.expanded, this.measure);
      this.relayout();
    } else if (tensor) {
      const k = tensor.dataset.tensor;
      this.lit = this.lit && this.lit.tensor === k ? null : { tensor: k };
      this.paint(true);
    } else if (row) {
      const name = row.dataset.module;
      this.lit = this.lit && this.lit.module === name ? null : { module: name };
      this.paint(true);
    }
  }

  relayout() {
    const v = this.view;
    this.viewport.style.height = `${Math.min(v.height, VIEW_MAX)}px`;
    this.canvas.style.width = `${v.width}px`;
    this.canvas.style.height = `${v.height}px`;
    this.svg.setAttribute("width", v.width);
    this.legendEl.innerHTML = legend(v);
    this.paint(true);
  }

  showTip(e) {
    const target = e.target.closest("[data-tensor],[data-module]");
    if (!target || !this.view) return;
    this.tip.innerHTML = target.dataset.tensor !== undefined ? tensorTip(this.view, target.dataset.tensor)
      : rowTip(this.view.rows[target._row]);
    const box = target.getBoundingClientRect(), rootBox = this.root.getBoundingClientRect();
    this.tip.style.display = "block";
    this.tip.style.left = `${Math.max(0, box.left - rootBox.left)}px`;
    this.tip.style.top = `${box.bottom - rootBox.top + 4}px`;
  }

  saveSVG() {
    const blob = new Blob([toSVG(this.view)], { type: "image/svg+xml" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${this.view.P.model_type || "model"}-sharing-graph.svg`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
}

// A stand-in for an anywidget model in the standalone page (graph.to_html): fixed data, no kernel.
function standaloneModel(state) {
  return { get: (k) => state[k], on: () => {}, off: () => {} };
}

function render({ model, el: host }) {
  const root = el("div", "psv-graph");
  root.dataset.version = "0";
  host.append(root);
  const front = new GraphFront(root, model);
  front.update(false);
  const onData = () => front.update(false);
  const onSide = () => front.update(true);
  model.on("change:payloads", onData);
  model.on("change:side", onSide);
  root._psv = front; // for tests and benchmarks in the page
  root._psvSVG = () => toSVG(front.view);
  return () => { model.off("change:payloads", onData); model.off("change:side", onSide); };
}

export default { render };
