// One plotly figure, drawn with plotly.js loaded once per page, only when the first figure shows.
//
// The kernel holds plotly.js (the installed plotly package's plotly.min.js, the version its
// figures are made for). The first figure view of a page asks its widget for it once
// ({type: "plotly.js?"}); the reply's buffer becomes a Blob URL loaded by a <script>.
// Every other figure of the page awaits the same promise on window.

const LOADER = "__psvPlotly";

function bytes(buffer) {
  return buffer instanceof ArrayBuffer
    ? new Uint8Array(buffer)
    : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function plotly(model) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window[LOADER]) {
    window[LOADER] = new Promise((resolve, reject) => {
      const got = (msg, buffers) => {
        if (msg?.type !== "plotly.js") return;
        model.off("msg:custom", got);
        const url = URL.createObjectURL(new Blob([bytes(buffers[0])], { type: "text/javascript" }));
        const script = document.createElement("script");
        script.src = url;
        script.onload = () => { URL.revokeObjectURL(url); resolve(window.Plotly); };
        script.onerror = () => reject(new Error("plotly.js did not load"));
        document.head.appendChild(script);
      };
      model.on("msg:custom", got);
      model.send({ type: "plotly.js?" });
    });
  }
  return window[LOADER];
}

function render({ model, el }) {
  el.classList.add("psv-plot");
  const note = document.createElement("div");
  note.className = "psv-loading";
  const plot = document.createElement("div");
  el.append(note, plot);
  let drawn = false;

  async function draw() {
    const spec = model.get("spec");
    note.textContent = spec ? "" : model.get("message");
    note.style.display = spec || !model.get("message") ? "none" : "";
    plot.style.display = spec ? "" : "none";
    if (!spec) return;
    const Plotly = await plotly(model);
    if (spec !== model.get("spec")) return; // a newer figure came while plotly.js loaded
    const fig = JSON.parse(spec);
    await Plotly.react(plot, fig.data ?? [], fig.layout ?? {}, { displaylogo: false, ...(fig.config ?? {}) });
    drawn = true;
  }

  // A figure drawn while its tab was hidden took plotly's default width: refit when shown or resized.
  const fit = new ResizeObserver(() => { if (drawn && plot.offsetWidth) window.Plotly.Plots.resize(plot); });
  fit.observe(el);
  model.on("change:spec", draw);
  model.on("change:message", draw);
  draw();
  return () => {
    fit.disconnect();
    model.off("change:spec", draw);
    model.off("change:message", draw);
    if (drawn) window.Plotly.purge(plot);
  };
}

export default { render };
