// Export links of the run page (dashboard/pages/run_page.py export_link): each href is written from the
// page's address, /runs/<run>/<subsystem>?from=…&to=…&threshold=…&scale=…, so it carries the time slice
// shown, also one applied in place (assets/time_slices.js changes the address with history.pushState
// and no reload). Hrefs are written when links appear (a MutationObserver, as in lazy_plots.js) and again
// when one is pointed at, focused or clicked. The menu's PNG link and Plotly's camera button save the
// plot under the same file name as the server's exports (overwatch_core/histogram_export.py
// export_filename, mirrored here).
(function () {
  "use strict";
  const API = "/api/v1";
  const SLICE_KEYS = ["from", "to", "threshold", "scale"];
  const PAGE = /^\/runs\/(\d+)\/([^/]+)/;

  function slice() {
    const here = new URLSearchParams(window.location.search);
    const kept = new URLSearchParams();
    for (const key of SLICE_KEYS) {
      if (here.has(key)) kept.set(key, here.get(key));
    }
    return kept;
  }

  function exportHref(link) {
    const page = PAGE.exec(window.location.pathname);
    if (!page) return "#";
    const query = new URLSearchParams();
    query.set(link.dataset.exportKey, link.dataset.exportValue);
    for (const [key, value] of slice()) query.set(key, value);
    return `${API}/runs/${page[1]}/${page[2]}/export/${link.dataset.exportLink}?${query}`;
  }

  function refresh(link) {
    const href = exportHref(link);
    if (link.getAttribute("href") !== href) link.setAttribute("href", href);
  }

  function refreshAll() {
    queued = false;
    for (const link of document.querySelectorAll("a[data-export-link]")) refresh(link);
  }

  function safePart(text) {
    return text.replace(/[^A-Za-z0-9._-]+|\.{2,}/g, "_").replace(/_+/g, "_").replace(/^\.+/, "") || "_";
  }

  function windowLabel() {
    const query = slice();
    if (!query.has("from") && !query.has("to")) return "full";
    const threshold = query.get("threshold") || "0";
    const low = Math.round(Number(query.get("from") || 0));
    const label = `min${low}-${query.has("to") ? Math.round(Number(query.get("to"))) : "end"}`;
    return label + (threshold !== "0" ? `_thr${threshold}` : "") + (query.get("scale") === "0" ? "_unscaled" : "");
  }

  function pngName(histogram) {
    const page = PAGE.exec(window.location.pathname);
    if (!page) return safePart(histogram);
    const parts = [`run${page[1]}`, decodeURIComponent(page[2]), histogram, windowLabel()];
    return parts.map(safePart).join("_");
  }

  // Before Plotly's camera button handles the click: its file name for this plot and this slice.
  function nameTheImage(event) {
    const button = event.target.closest && event.target.closest(".modebar-btn");
    const graph = button && button.closest(".js-plotly-plot");
    const card = graph && graph.closest(".hist-card");
    const link = card && card.querySelector("a[data-export-link]");
    if (!link || !graph._context) return;
    const options = Object.assign({}, graph._context.toImageButtonOptions, { filename: pngName(link.dataset.exportValue) });
    graph._context.toImageButtonOptions = options;
  }

  // The menu's PNG link: Plotly's own image of the drawn plot, under the same name.
  function downloadImage(event) {
    const link = event.target.closest && event.target.closest("a[data-export-png]");
    if (!link) return;
    event.preventDefault();
    const card = link.closest(".hist-card");
    const graph = card && card.querySelector(".js-plotly-plot");
    if (graph && window.Plotly) {
      window.Plotly.downloadImage(graph, { format: "png", filename: pngName(link.dataset.exportPng) });
    }
  }

  function onInteraction(event) {
    const link = event.target.closest && event.target.closest("a[data-export-link]");
    if (link) refresh(link);
    if (event.type === "pointerdown") nameTheImage(event);
    if (event.type === "click") downloadImage(event);
  }

  for (const type of ["pointerover", "pointerdown", "focusin", "click", "contextmenu"]) {
    document.addEventListener(type, onInteraction, true);
  }
  window.addEventListener("popstate", function () {
    window.requestAnimationFrame(refreshAll);
  });

  let queued = false;
  new MutationObserver(function () {
    if (!queued) {
      queued = true;
      window.requestAnimationFrame(refreshAll);
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
