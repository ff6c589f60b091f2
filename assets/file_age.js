// The ongoing run's "newest file received … ago" (dashboard/pages/run_page.py, file_age): counted on in the
// browser, so the age stays true between page loads. The page sets data-file-time (ms since the epoch).
(function () {
  "use strict";
  function ageText(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
  }
  window.setInterval(function () {
    for (const span of document.querySelectorAll("[data-file-time]")) {
      const text = ageText((Date.now() - Number(span.dataset.fileTime)) / 1000);
      if (span.textContent !== text) span.textContent = text;
    }
  }, 5000);
})();
