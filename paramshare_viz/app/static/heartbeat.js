// The page's watch on its kernel: a ping every few seconds, answered by the kernel (Heartbeat in
// heartbeat.py). A kernel that died, was restarted (a fresh one knows nothing of this page's widgets)
// or whose server went away answers no more; after LOST_AFTER_MS of silence the page says so and
// offers a reload, which starts a fresh kernel. A late answer (a kernel that was only busy) hides it.

//
// It also lets Voila's own "page closed" beacon through: that POST must echo an `_xsrf` cookie, which
// a page rendered by Voila under Jupyter Server (Binder's /voila/render/...) never gets, so each
// closed page left its kernel running (voila-dashboards/voila#1458). A missing cookie is set here, at
// the server's base URL (the path Jupyter Server gives its own): the server checks only that the
// form value equals the cookie, and no other site can set a cookie for this one.

const PING_EVERY_MS = 3000;
const LOST_AFTER_MS = 15000;

function ensureXsrfCookie() {
  if (/(^|;\s*)_xsrf=/.test(document.cookie)) return;
  const config = document.getElementById("jupyter-config-data");
  const baseUrl = (config && JSON.parse(config.textContent).baseUrl) || "/";
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  document.cookie = `_xsrf=${token}; path=${baseUrl}; SameSite=Lax`;
}

export default {
  render({ model, el }) {
    ensureXsrfCookie();
    const banner = document.createElement("div");
    banner.className = "psv-kernel-lost";
    banner.setAttribute("role", "alert");
    banner.hidden = true;
    banner.append(
      "This page lost its Python kernel: it has not answered for 15 s (it stopped, was restarted, " +
        "or the server went away), so the controls no longer respond. "
    );
    const reload = document.createElement("button");
    reload.textContent = "Reload the page";
    reload.onclick = () => window.location.reload();
    banner.append(reload);
    el.append(banner);

    // Once the page has drawn its widgets (the main thread is idle), say so: the kernel sends the
    // page's first plotly figure only then, because plotly.js takes over a second to start and
    // would otherwise hold back the controls (AppState.drawn).
    const drawn = () => model.send({ drawn: true });
    if (window.requestIdleCallback) window.requestIdleCallback(drawn, { timeout: 3000 });
    else setTimeout(drawn, 200);

    let lastAnswer = Date.now();
    let sent = 0;
    model.on("msg:custom", (msg) => {
      if (msg && msg.pong !== undefined) {
        lastAnswer = Date.now();
        banner.hidden = true;
      }
    });
    const timer = setInterval(() => {
      if (Date.now() - lastAnswer > LOST_AFTER_MS) banner.hidden = false;
      try {
        model.send({ ping: ++sent });
      } catch (err) {
        // the comm is gone with its kernel: nothing will answer; the check above says so
      }
    }, PING_EVERY_MS);
    return () => clearInterval(timer);
  },
};
