// Lazy plots of the run page (dashboard/pages/run_page.py): a placeholder is fetched when it comes near
// the viewport. Each placeholder names, in data-lazy-plot, the Dash store to set; a server callback then
// answers with the graph. Placeholders are found as Dash renders them (a MutationObserver), each watched
// once by an IntersectionObserver; a re-rendered page brings new placeholders, which are watched anew.
// Plotly itself comes from assets/plotly-cartesian.min.js (assets/README.md).
(function () {
  "use strict";
  // "Near": within half a screen below (or above) the viewport, so a plot is drawn before it scrolls in.
  const NEAR = "50% 0px";
  const watched = new WeakSet();

  const seen = new IntersectionObserver(
    function (entries) {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        seen.unobserve(entry.target);
        const store = JSON.parse(entry.target.dataset.lazyPlot);
        window.dash_clientside.set_props(store, { data: Date.now() });
      }
    },
    { rootMargin: NEAR },
  );

  let queued = false;
  // On a page load the plots sent with the page are drawn first: placeholders are watched from when one of
  // them is drawn (at the latest a second after this script ran), so their fetches and drawing do not hold
  // up the first plot. Pages opened later inside the app start at once.
  const LOAD_WAIT_MS = 1000;
  const loaded = performance.now();
  function firstDrawn() {
    return (
      performance.now() - loaded > LOAD_WAIT_MS ||
      document.querySelector(".hist-card .js-plotly-plot .main-svg") !== null
    );
  }
  function watchNew() {
    queued = false;
    if (!firstDrawn()) {
      queued = true;
      window.requestAnimationFrame(watchNew);
      return;
    }
    for (const placeholder of document.querySelectorAll("[data-lazy-plot]")) {
      if (watched.has(placeholder)) continue;
      watched.add(placeholder);
      seen.observe(placeholder);
    }
  }

  new MutationObserver(function () {
    if (!queued) {
      queued = true;
      window.requestAnimationFrame(watchNew);
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
