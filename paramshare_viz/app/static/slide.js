// The Slide tab's animation: a kernel sliding over an image, and its locally connected twin beside it.
// Python sends the data once per setting (traits `meta` and `data`); every frame is drawn here,
// with no round trip to the kernel. `data` holds float32 arrays whose offsets `meta.arrays` names.
// meta.mode "gather" (a conv, 2-D or 1-D as height 1) walks output cells; "scatter" (a transposed
// conv) walks input cells, each adding its scaled kernel copy to the output.

const BLUE = [37, 99, 235], RED = [220, 38, 38], WHITE = [255, 255, 255];
const MAX_SIDE = 250; // css pixels for the input and output canvases
const ROW_HEIGHT = 24; // css pixels of a sequence (height 1) drawn as one row of cells

function diverging(v, absmax) {
  const t = absmax > 0 ? Math.max(-1, Math.min(1, v / absmax)) : 0;
  const end = t < 0 ? BLUE : RED, a = Math.abs(t);
  return [0, 1, 2].map((k) => Math.round(WHITE[k] + (end[k] - WHITE[k]) * a));
}
const css = (rgb) => `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
const absmax = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function decode(model) {
  const meta = model.get("meta");
  const view = model.get("data");
  if (!meta || !meta.arrays || !view || view.byteLength === 0) return null;
  const buf = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
  const arrays = {};
  for (const [name, [offset, length]] of Object.entries(meta.arrays)) {
    arrays[name] = new Float32Array(buf, offset * 4, length);
  }
  return { ...meta, ...arrays };
}

// A small offscreen canvas with one pixel per cell, drawn scaled without smoothing.
function pixels(w, h) {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  const ctx = c.getContext("2d");
  return { canvas: c, ctx, image: ctx.createImageData(w, h) };
}

// Kernel-shaped grids of numbers (cg grids of kH x kW) drawn on a canvas: no DOM layout per frame.
const CELL_W = 40, CELL_H = 18, GAP = 1, GROUP_GAP = 8, GRID_MAX_W = 290;

function grid(cls, edge) {
  return { canvas: el("canvas", `psv-slide-kernel ${cls}`), edge, cg: 0, kh: 0, kw: 0, perRow: 1 };
}

function layoutGrid(g, cg, kh, kw) {
  const gw = kw * (CELL_W + GAP);
  g.cg = cg; g.kh = kh; g.kw = kw;
  g.perRow = Math.max(1, Math.min(cg, Math.floor((GRID_MAX_W + GROUP_GAP) / (gw + GROUP_GAP))));
  const rows = Math.ceil(cg / g.perRow);
  const w = g.perRow * gw + (g.perRow - 1) * GROUP_GAP, h = rows * kh * (CELL_H + GAP) + (rows - 1) * GROUP_GAP;
  const dpr = window.devicePixelRatio || 1;
  g.canvas.width = Math.round(w * dpr);
  g.canvas.height = Math.round(h * dpr);
  g.canvas.style.width = `${w}px`;
  g.canvas.style.height = `${h}px`;
  g.ctx = g.canvas.getContext("2d");
  g.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
}

function fillGrid(g, values, scale) {
  const { ctx, cg, kh, kw, perRow } = g;
  ctx.clearRect(0, 0, g.canvas.width, g.canvas.height);
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let c = 0; c < cg; c++) {
    const x0 = (c % perRow) * (kw * (CELL_W + GAP) + GROUP_GAP);
    const y0 = Math.floor(c / perRow) * (kh * (CELL_H + GAP) + GROUP_GAP);
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        const value = values[(c * kh + u) * kw + v], x = x0 + v * (CELL_W + GAP), y = y0 + u * (CELL_H + GAP);
        ctx.fillStyle = css(diverging(value, scale));
        ctx.fillRect(x, y, CELL_W, CELL_H);
        ctx.strokeStyle = g.edge;
        ctx.strokeRect(x + 0.5, y + 0.5, CELL_W - 1, CELL_H - 1);
        ctx.fillStyle = "#111827"; // on the diverging colours, which stay light enough in both themes
        ctx.fillText(fmt(value), x + CELL_W - 4, y + CELL_H / 2 + 0.5);
      }
    }
  }
}

function render({ model, el: host }) {
  const root = el("div", "psv-slide");
  const bar = el("div", "psv-slide-bar");
  const reset = el("button", "psv-slide-reset", "⇤ start");
  const back = el("button", "psv-slide-back", "◀ step");
  const play = el("button", "psv-slide-play", "▶ play");
  const step = el("button", "psv-slide-step", "step ▶");
  const speed = el("input", "psv-slide-speed");
  Object.assign(speed, { type: "range", min: 0, max: 100, value: 50 });
  const speedLabel = el("span", "psv-slide-speed-label");
  const posLabel = el("span", "psv-slide-pos psv-slide-line");
  reset.title = "back to the first position";
  bar.append(reset, back, play, step, el("span", "psv-slide-muted", "speed"), speed, speedLabel, posLabel);

  // Shared row: input with receptive field, the one kernel, products and sum, output filling in.
  const shared = el("div", "psv-slide-row");
  const inCanvas = el("canvas", "psv-slide-input");
  const outCanvas = el("canvas", "psv-slide-output");
  const kernel = grid("psv-slide-weights", "#2563eb");
  const products = grid("psv-slide-products", "rgba(127,127,127,0.4)");
  const sum = el("div", "psv-slide-sum psv-slide-line");
  const kernelNote = el("div", "psv-slide-note");
  const inTitle = el("div", "psv-slide-title");
  const outTitle = el("div", "psv-slide-title");
  const productsTitle = el("div", "psv-slide-title");
  shared.append(
    col([inTitle, inCanvas]),
    col([el("div", "psv-slide-title", "Kernel (one tensor)"), kernel.canvas, kernelNote,
         productsTitle, products.canvas, sum]),
    col([outTitle, outCanvas]),
  );

  // Twin row: its own kernel at this position, its output, and the parameter counter.
  const twin = el("div", "psv-slide-row psv-slide-twin");
  const twinKernel = grid("psv-slide-twin-weights", "#f97316");
  const twinCanvas = el("canvas", "psv-slide-twin-output");
  const twinSum = el("div", "psv-slide-twin-sum psv-slide-line");
  const twinTitle = el("div", "psv-slide-title psv-slide-line");
  // The counter: fixed lines whose numbers change (text only: no layout outside each line).
  const counter = el("div", "psv-slide-counter");
  const convLine = el("div", "psv-slide-line");
  const twinLine = el("div", "psv-slide-line");
  const countLine = el("div", "psv-slide-line psv-slide-count-line");
  const count = el("span", "psv-slide-count");
  const seenSpan = el("span");
  const totalLine = el("div", "psv-slide-line psv-slide-muted");
  twinLine.append(el("b", "", "Locally connected"), ": ", seenSpan);
  countLine.append("= ", count, " parameters so far");
  counter.append(convLine, twinLine, countLine, totalLine);
  const twinOwn = col([twinTitle, twinKernel.canvas, twinSum]);
  const twinOut = col([el("div", "psv-slide-title", "Twin output (same channel)"), twinCanvas]);
  twin.append(col([el("div", "psv-slide-title", "Locally connected twin"), counter]), twinOwn, twinOut);
  root.append(bar, shared, twin);
  host.appendChild(root);

  function col(children) {
    const c = el("div", "psv-slide-col");
    c.append(...children);
    return c;
  }

  let S = null; // decoded data of the current setting
  let pos = 0, shown = -1, playing = false, raf = 0, last = 0, carry = 0, frames = 0;
  let inBase, outFull, outShown, twinFull, twinShown, inScale = 1, outScale = 1, inScaleY = 1, outScaleY = 1;
  let acc, hit, accAt = -1; // scatter: the output summed over input cells 0..accAt, and which cells were written

  const cellsPerSecond = () => {
    const L = S ? S.L : 1;
    // 0..100 on a log scale from 1 cell/s to the whole map in half a second; 50 ~ the map in 10 s.
    const lo = Math.log(1), hi = Math.log(Math.max(4, 2 * L)), mid = Math.log(Math.max(2, L / 10));
    const x = Number(speed.value) / 100;
    return Math.exp(x < 0.5 ? lo + (mid - lo) * 2 * x : mid + (hi - mid) * (2 * x - 1));
  };
  const showSpeed = () => { speedLabel.textContent = `${cellsPerSecond().toFixed(cellsPerSecond() < 10 ? 1 : 0)} cells/s`; };

  function setup() {
    S = decode(model);
    if (!S) return;
    const { C, Hp, Wp, Ho, Wo, cg, kh, kw } = S;
    const scatter = S.mode === "scatter";
    // Input: RGB when three channels, otherwise the mean of the channels oc reads; padding dimmed.
    inBase = pixels(Wp, Hp);
    const lo = S.input_range[0], span = S.input_range[1] - S.input_range[0] || 1;
    const d = inBase.image.data, n = Hp * Wp;
    for (let p = 0; p < n; p++) {
      let rgb;
      if (C === 3) rgb = [0, 1, 2].map((c) => (S.padded[c * n + p] - lo) / span * 255);
      else {
        let m = 0;
        for (let c = S.first; c < S.first + cg; c++) m += S.padded[c * n + p];
        rgb = [0, 0, 0].fill(((m / cg) - lo) / span * 255);
      }
      const real = S.real[p] > 0;
      d.set([rgb[0], rgb[1], rgb[2], real ? 255 : 110], 4 * p);
    }
    inBase.ctx.putImageData(inBase.image, 0, 0);
    inScale = Math.max(2, Math.floor(MAX_SIDE / Math.max(Hp, Wp)));
    outScale = Math.max(2, Math.floor(MAX_SIDE / Math.max(Ho, Wo)));
    inScaleY = Hp === 1 ? Math.max(inScale, ROW_HEIGHT) : inScale; // a sequence: one row of tall cells
    outScaleY = Ho === 1 ? Math.max(outScale, ROW_HEIGHT) : outScale;
    size(inCanvas, Wp * inScale, Hp * inScaleY);
    size(outCanvas, Wo * outScale, Ho * outScaleY);
    size(twinCanvas, Wo * outScale, Ho * outScaleY);
    outFull = colours(S.output, absmax(S.output));
    twinFull = scatter ? null : colours(S.twin_output, absmax(S.twin_output));
    acc = new Float64Array(Ho * Wo);
    hit = new Uint8Array(Ho * Wo);
    accAt = -1;
    twinOwn.style.display = twinOut.style.display = scatter ? "none" : "";
    root.dataset.label = S.label; // which layer is drawn: Conv2d, Conv1d, "Conv1d, causal", ConvTranspose2d
    root.dataset.output = `${Ho}x${Wo}`; // the drawn setting's output size: tests wait for the setting they typed
    outShown = pixels(Wo, Ho);
    twinShown = pixels(Wo, Ho);
    for (const g of [kernel, products, twinKernel]) layoutGrid(g, cg, kh, kw);
    fillGrid(kernel, S.kernel, absmax(S.kernel));
    const padNote = S.padding_mode === "zeros" ? "grey border: zero padding" : `dim border: ${S.padding_mode} padding (copies)`;
    const read = cg === 1 ? `channel ${S.first}` : `channels ${S.first}–${S.first + cg - 1}`;
    const what = S.H === 1 ? `Sequence ${S.C}×${S.W}` : `Input ${S.C}×${S.H}×${S.W}`;
    inTitle.textContent = scatter ? `${what}, ${read}; click a cell` : `${what}, ${read} read; ${S.pad_note || padNote}`;
    outTitle.textContent = `Output channel ${S.oc}: ${Ho}×${Wo}${scatter ? ", filling in" : ""}`;
    productsTitle.textContent = scatter ? "× this input cell = the copy it writes" : "× window = products";
    const where = scatter ? "input positions" : "positions";
    kernelNote.textContent = `the same object at all ${S.L} ${where} · ${S.shared_params.toLocaleString()} parameters in the layer`;
    const everywhere = S.label === "Conv2d" ? ", at every position" : ""; // longer labels: the line's width
    convLine.replaceChildren(el("b", "", S.label), `: ${S.shared_params.toLocaleString()} parameters${everywhere}`);
    const all = S.twin_params_per_position * S.L;
    totalLine.textContent = `all ${S.L.toLocaleString()} ${where}: ${all.toLocaleString()}, ${(all / S.shared_params).toFixed(0)}× the conv`;
    pos = Math.min(pos, S.L - 1);
    shown = -1;
    showSpeed();
    draw();
  }

  function size(canvas, w, h) {
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
  }

  function colours(values, scale) {
    const out = new Uint8ClampedArray(values.length * 4);
    for (let p = 0; p < values.length; p++) out.set([...diverging(values[p], scale), 255], 4 * p);
    return out;
  }

  // Reveal cells shown+1..pos of a filling map (or restart when going back).
  function reveal(target, full, upto) {
    const d = target.image.data;
    if (upto < shown) d.fill(0);
    const from = upto < shown ? 0 : shown + 1;
    d.set(full.subarray(4 * from, 4 * (upto + 1)), 4 * from);
    target.ctx.putImageData(target.image, 0, 0);
  }

  function blit(canvas, source, scale, scaleY) {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(source, 0, 0, source.width * scale, source.height * scaleY);
    return ctx;
  }

  function outline(ctx, x, y, w, h, colour, width) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.strokeRect(x + width / 2, y + width / 2, w - width, h - width);
  }

  // The twin's counter: parameters of the kernels (and biases) needed at positions 0..pos.
  function showCount(seen) {
    const per = S.twin_params_per_position;
    seenSpan.textContent = `${per.toLocaleString()} per position × ${seen.toLocaleString()}`;
    count.textContent = (per * seen).toLocaleString();
  }

  // Scatter: add input cells accAt+1..upto's kernel copies to the output (from scratch when going back).
  function accumulate(upto) {
    const { H, W, Ho, Wo, kh, kw, cg, stride, dilation, padding } = S, n = H * W, k = kh * kw;
    if (upto < accAt) accAt = -1;
    if (accAt < 0) { acc.fill(S.bias); hit.fill(0); }
    for (let p = accAt + 1; p <= upto; p++) {
      const i = Math.floor(p / W), j = p % W;
      for (let c = 0; c < cg; c++) {
        const x = S.padded[(S.first + c) * n + p];
        for (let u = 0; u < kh; u++) {
          const r = i * stride[0] + u * dilation[0] - padding[0];
          if (r < 0 || r >= Ho) continue;
          for (let v = 0; v < kw; v++) {
            const q = j * stride[1] + v * dilation[1] - padding[1];
            if (q < 0 || q >= Wo) continue;
            acc[r * Wo + q] += x * S.kernel[c * k + u * kw + v];
            hit[r * Wo + q] = 1;
          }
        }
      }
    }
    accAt = upto;
  }

  function drawScatter() {
    const { H, W, Ho, Wo, kh, kw, cg, stride, dilation, padding } = S;
    const i = Math.floor(pos / W), j = pos % W, n = H * W, k = kh * kw;
    let ctx = blit(inCanvas, inBase.canvas, inScale, inScaleY);
    outline(ctx, j * inScale, i * inScaleY, inScale, inScaleY, "#16a34a", Math.max(1, Math.min(3, inScale / 4)));
    const prods = new Float64Array(cg * k);
    let value = 0;
    for (let c = 0; c < cg; c++) {
      const x = S.padded[(S.first + c) * n + pos];
      value += x;
      for (let q = 0; q < k; q++) prods[c * k + q] = x * S.kernel[c * k + q];
    }
    fillGrid(products, prods, absmax(prods) || 1);
    accumulate(pos);
    const d = outShown.image.data, scale = absmax(S.output);
    let error = 0;
    for (let p = 0; p < Ho * Wo; p++) {
      d.set(hit[p] ? [...diverging(acc[p], scale), 255] : [0, 0, 0, 0], 4 * p);
      error = Math.max(error, Math.abs(acc[p] - S.output[p]));
    }
    outShown.ctx.putImageData(outShown.image, 0, 0);
    ctx = blit(outCanvas, outShown.canvas, outScale, outScaleY);
    let landed = 0;
    for (let u = 0; u < kh; u++) {
      const r = i * stride[0] + u * dilation[0] - padding[0];
      for (let v = 0; v < kw; v++) {
        const q = j * stride[1] + v * dilation[1] - padding[1];
        if (r < 0 || r >= Ho || q < 0 || q >= Wo) continue;
        landed++;
        outline(ctx, q * outScale, r * outScaleY, outScale, outScaleY, "#16a34a", Math.max(1, Math.min(3, outScale / 3)));
      }
    }
    const x = cg === 1 ? `${fmt(value)} ` : "";
    sum.textContent = `(${i}, ${j}): ${x}× kernel → ${landed} cells`;
    sum.dataset.cell = `${i},${j}`;
    sum.dataset.landed = String(landed);
    // Once every input cell has scattered, the sum of copies is the layer's output (measured here).
    sum.dataset.error = pos === S.L - 1 ? String(error) : "";
    showCount(pos + 1);
    posLabel.textContent = `input (${i}, ${j}) · ${pos + 1} / ${S.L}`;
    root.dataset.frames = String(++frames);
  }

  function draw() {
    if (!S) return;
    if (S.mode === "scatter") return drawScatter();
    const { Ho, Wo, kh, kw, cg, stride, dilation, Hp, Wp } = S;
    const i = Math.floor(pos / Wo), j = pos % Wo;
    const r0 = i * stride[0], c0 = j * stride[1]; // top-left tap in padded coordinates
    // Input and receptive field: its span, and each (dilated) tap.
    let ctx = blit(inCanvas, inBase.canvas, inScale, inScaleY);
    ctx.fillStyle = "rgba(22,163,74,0.18)";
    const spanH = dilation[0] * (kh - 1) + 1, spanW = dilation[1] * (kw - 1) + 1;
    ctx.fillRect(c0 * inScale, r0 * inScaleY, spanW * inScale, spanH * inScaleY);
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        outline(ctx, (c0 + v * dilation[1]) * inScale, (r0 + u * dilation[0]) * inScaleY, inScale, inScaleY,
                "#16a34a", Math.max(1, Math.min(3, inScale / 4)));
      }
    }
    // Products and their sum, computed here from the data Python sent.
    const n = Hp * Wp, k = kh * kw, prods = new Float64Array(cg * k), vals = new Float64Array(cg * k);
    let total = S.bias;
    for (let c = 0; c < cg; c++) {
      for (let u = 0; u < kh; u++) {
        for (let v = 0; v < kw; v++) {
          const x = S.padded[(S.first + c) * n + (r0 + u * dilation[0]) * Wp + c0 + v * dilation[1]];
          const p = x * S.kernel[c * k + u * kw + v];
          vals[c * k + u * kw + v] = x;
          prods[c * k + u * kw + v] = p;
          total += p;
        }
      }
    }
    fillGrid(products, prods, absmax(prods) || 1);
    const at = Ho === 1 ? `t = ${j}` : `(${i}, ${j})`;
    sum.textContent = `Σ ${S.bias ? `+ bias ${fmt(S.bias)} ` : ""}= ${total.toFixed(4)} → output ${at}`;
    sum.dataset.value = String(total);
    sum.dataset.cell = `${S.oc},${i},${j}`;
    // Output maps filling in; the current cell outlined.
    reveal(outShown, outFull, pos);
    reveal(twinShown, twinFull, pos);
    shown = pos;
    for (const [canvas, src] of [[outCanvas, outShown], [twinCanvas, twinShown]]) {
      ctx = blit(canvas, src.canvas, outScale, outScaleY);
      outline(ctx, j * outScale, i * outScaleY, outScale, outScaleY, "#16a34a", Math.max(1, Math.min(3, outScale / 3)));
    }
    // The twin: its own kernel here, and the parameters it has needed so far.
    const seen = pos + 1;
    const own = S.twin_kernels.subarray(pos * cg * k, (pos + 1) * cg * k);
    fillGrid(twinKernel, own, absmax(S.kernel));
    twinTitle.textContent = `Its own kernel #${seen.toLocaleString()}, for ${at}`;
    let twinTotal = S.twin_bias[pos];
    for (let q = 0; q < own.length; q++) twinTotal += own[q] * vals[q];
    twinSum.textContent = `× the same window, summed: ${twinTotal.toFixed(4)}`;
    showCount(seen);
    posLabel.textContent = `${Ho === 1 ? "step" : "cell"} ${at} · ${seen} / ${S.L}`;
    root.dataset.frames = String(++frames);
  }

  function tick(t) {
    if (!playing) return;
    raf = requestAnimationFrame(tick);
    if (!S) return; // play was pressed before the data arrived
    const dt = last ? Math.min(t - last, 250) : 0;
    last = t;
    carry += (dt / 1000) * cellsPerSecond();
    const steps = Math.floor(carry);
    if (steps > 0) {
      carry -= steps;
      const L = S.L;
      pos = Math.min(pos + steps, L - 1);
      if (pos === L - 1) stop();
    }
    draw();
  }

  function start() {
    if (S && pos >= S.L - 1) pos = 0;
    playing = true;
    last = 0;
    carry = 0;
    play.textContent = "❚❚ pause";
    root.dataset.playing = "true";
    raf = requestAnimationFrame(tick);
  }

  function stop() {
    playing = false;
    cancelAnimationFrame(raf);
    play.textContent = "▶ play";
    root.dataset.playing = "false";
  }

  function jump(to) {
    if (!S) return;
    stop();
    pos = Math.max(0, Math.min(S.L - 1, to));
    draw();
  }

  // A click on the grid the animation walks: output cells (conv), input cells (transposed conv).
  function clickCell(event) {
    if (!S) return;
    const scatter = S.mode === "scatter", onInput = event.currentTarget === inCanvas;
    if (scatter !== onInput) return;
    const rect = event.currentTarget.getBoundingClientRect();
    const [sx, sy, h, w] = scatter ? [inScale, inScaleY, S.H, S.W] : [outScale, outScaleY, S.Ho, S.Wo];
    const i = Math.floor((event.clientY - rect.top) / sy), j = Math.floor((event.clientX - rect.left) / sx);
    if (i >= 0 && i < h && j >= 0 && j < w) jump(i * w + j);
  }

  play.onclick = () => (playing ? stop() : start());
  step.onclick = () => jump(pos + 1);
  back.onclick = () => jump(pos - 1);
  reset.onclick = () => jump(0);
  speed.oninput = showSpeed;
  outCanvas.onclick = clickCell;
  twinCanvas.onclick = clickCell;
  inCanvas.onclick = clickCell;
  outCanvas.title = twinCanvas.title = "click a cell to jump there";
  model.on("change:data", setup);
  setup();
  return () => {
    stop();
    model.off("change:data", setup);
  };
}

export default { render };
