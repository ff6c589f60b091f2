// Lazy plots of the run page (dashboard/pages/run_page.py): a placeholder is fetched when it comes near
// the viewport. Each placeholder names, in data-lazy-plot, the Dash store to set; a server callback then
// answers with the graph. Placeholders are found as Dash renders them (a MutationObserver), each watched
// once by an IntersectionObserver; a re-rendered page brings new placeholders, which are watched anew.
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
  function watchNew() {
    queued = false;
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
