/*
 * Keyboard shortcuts for shifters, the "?" list of them, and the keys of the header search.
 *
 * Every shortcut clicks or moves an existing control (a sidebar link, a slider thumb, a panel button),
 * so Dash sees the same change a mouse would make. No shortcut fires while typing in a box (input,
 * textarea, select, contenteditable) or together with Ctrl, Alt or Meta; in the search box only the
 * search's own keys work (arrows, Enter, Escape).
 */
(function () {
    "use strict";

    const SEARCH = "search-input";
    const RESULTS = "search-results";
    const OVERLAY = "keys-overlay";

    /* The list shown by "?": [keys, what they do]. */
    const KEYS = [
        [["/"], "Search histograms of this subsystem, or runs by number"],
        [["↓", "↑", "Enter"], "In the search: choose a result, open it"],
        [["j", "k"], "Next / previous histogram in the sidebar"],
        [["J", "K"], "Next / previous group (also n / p)"],
        [["[", "]"], "Move the time window one minute earlier / later"],
        [["a"], "Apply the time slice"],
        [["c", "Esc"], "Cancel the running time slice"],
        [["r"], "Reset the time slice to the full run"],
        [["o"], "Toggle the reference overlay (where the page has one)"],
        [["?"], "Show or hide this list"],
    ];

    /* Inputs one does not type into: a shortcut still works while one of them has the focus. */
    const NOT_TEXT = new Set(["checkbox", "radio", "button", "submit", "reset", "range", "file", "color"]);

    /* --- helpers ------------------------------------------------------------------------------- */

    function isTyping(element) {
        if (!element || element === document.body) return false;
        const tag = element.tagName;
        if (tag === "INPUT") return !NOT_TEXT.has((element.type || "text").toLowerCase());
        return tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
    }

    function clickIfEnabled(selector) {
        const element = document.querySelector(selector);
        if (element && !element.disabled && !element.classList.contains("disabled")) {
            element.click();
            return true;
        }
        return false;
    }

    /* --- sidebar: next / previous histogram or group -------------------------------------------- */

    function sidebarLinks() {
        return Array.from(document.querySelectorAll(".run-sidebar a.list-group-item"));
    }

    function step(kind, direction) {
        const links = sidebarLinks();
        if (!links.length) return false;
        const isGroup = (a) => a.classList.contains("fw-semibold");
        let candidates = links.filter((a) => (kind === "group" ? isGroup(a) : !isGroup(a)));
        if (!candidates.length) candidates = links.filter(isGroup); // grid groups list no histograms
        const current = links.findIndex((a) => a.classList.contains("active"));
        const ordered = direction > 0 ? candidates : candidates.slice().reverse();
        const next = ordered.find((a) => (direction > 0 ? links.indexOf(a) > current : links.indexOf(a) < current));
        if (!next) return false;
        next.click();
        next.scrollIntoView({block: "nearest"});
        return true;
    }

    /* --- time window: both thumbs one minute, the leading one first --------------------------- */

    const THUMBS = "#ts-range .dash-slider-thumb";
    /* Moves asked while one is under way wait their turn (a fast "]]]" moves three minutes). */
    const queue = [];

    function moveWindow(direction) {
        const thumbs = Array.from(document.querySelectorAll(THUMBS));
        if (thumbs.length !== 2 || thumbs[0].closest("[data-disabled]")) return false;
        queue.push(direction);
        if (queue.length === 1) nextMove(document.activeElement);
        return true;
    }

    function thumbValue(index, name) {
        const thumb = document.querySelectorAll(THUMBS)[index];
        return thumb ? Number(thumb.getAttribute(name || "aria-valuenow")) : NaN;
    }

    function nextMove(before) {
        if (!queue.length) {
            if (before && before !== document.body && before.focus) before.focus();
            else if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
            return;
        }
        const direction = queue[0];
        const done = function () {
            queue.shift();
            nextMove(before);
        };
        const low = thumbValue(0), high = thumbValue(1);
        if ((direction < 0 && low <= thumbValue(0, "aria-valuemin")) ||
            (direction > 0 && high >= thumbValue(1, "aria-valuemax"))) {
            done(); // the window already touches the run's start or end
            return;
        }
        const key = direction > 0 ? "ArrowRight" : "ArrowLeft";
        const [first, second] = direction > 0 ? [1, 0] : [0, 1];
        /* One thumb, then the other once the slider has taken the first change (a second key in the same
         * frame would start from the old values and undo the first). */
        const old = thumbValue(first);
        press(first, key);
        afterChange(first, old, function () {
            const other = thumbValue(second);
            press(second, key);
            afterChange(second, other, done);
        });
    }

    function afterChange(index, old, then) {
        let frames = 0;
        (function wait() {
            if (thumbValue(index) === old && frames++ < 120) window.requestAnimationFrame(wait);
            else then();
        })();
    }

    function press(index, key) {
        const thumb = document.querySelectorAll(THUMBS)[index];
        if (!thumb) return;
        thumb.focus(); // the slider changes the thumb that has the focus
        const init = {key: key, code: key, bubbles: true, cancelable: true};
        thumb.dispatchEvent(new KeyboardEvent("keydown", init));
        thumb.dispatchEvent(new KeyboardEvent("keyup", init));
    }

    /* --- the "?" overlay --------------------------------------------------------------------------- */

    let returnFocus = null;

    function overlay() {
        let found = document.getElementById(OVERLAY);
        if (found) return found;
        found = document.createElement("div");
        found.id = OVERLAY;
        found.style.display = "none";
        const rows = KEYS.map(function ([keys, text]) {
            const kbd = keys.map((k) => "<kbd>" + k + "</kbd>").join(" ");
            return "<tr><td class='text-nowrap pe-3'>" + kbd + "</td><td>" + text + "</td></tr>";
        }).join("");
        found.innerHTML =
            "<div class='modal-backdrop show'></div>" +
            "<div class='modal d-block' tabindex='-1' role='dialog' aria-modal='true' aria-labelledby='keys-overlay-title'>" +
            "<div class='modal-dialog modal-dialog-centered'><div class='modal-content'>" +
            "<div class='modal-header'><h5 class='modal-title' id='keys-overlay-title'>Keyboard shortcuts</h5>" +
            "<button type='button' class='btn-close' aria-label='Close'></button></div>" +
            "<div class='modal-body'><table class='table table-sm mb-2'><tbody>" + rows + "</tbody></table>" +
            "<p class='small text-muted mb-0'>Shortcuts do not fire while typing in a box. " +
            "<kbd>Esc</kbd> closes this list.</p></div></div></div></div>";
        found.addEventListener("click", function (event) {
            const inDialog = event.target.closest(".modal-content");
            if (!inDialog || event.target.closest(".btn-close")) hideOverlay();
        });
        document.body.appendChild(found);
        return found;
    }

    function overlayOpen() {
        const found = document.getElementById(OVERLAY);
        return !!found && found.style.display !== "none";
    }

    function showOverlay() {
        returnFocus = document.activeElement;
        const found = overlay();
        found.style.display = "block";
        found.querySelector(".btn-close").focus();
    }

    function hideOverlay() {
        const found = document.getElementById(OVERLAY);
        if (found) found.style.display = "none";
        if (returnFocus && returnFocus.focus) returnFocus.focus();
        returnFocus = null;
    }

    /* --- search box ------------------------------------------------------------------------------- */

    function hits() {
        return Array.from(document.querySelectorAll("#" + RESULTS + " .search-hit"));
    }

    function mark(direction) {
        const found = hits();
        if (!found.length) return;
        let index = found.findIndex((a) => a.classList.contains("active"));
        index = Math.max(0, Math.min(found.length - 1, index + direction));
        found.forEach((a, i) => a.classList.toggle("active", i === index));
        found[index].scrollIntoView({block: "nearest"});
    }

    function clearSearch(input) {
        window.dash_clientside.set_props(SEARCH, {value: ""});
        input.blur();
    }

    function searchKey(event, input) {
        if (event.key === "ArrowDown" || event.key === "ArrowUp") {
            mark(event.key === "ArrowDown" ? 1 : -1);
        } else if (event.key === "Enter") {
            const found = hits();
            const chosen = found.find((a) => a.classList.contains("active")) || found[0];
            if (!chosen) return;
            chosen.click();
            clearSearch(input);
        } else if (event.key === "Escape") {
            clearSearch(input);
        } else {
            return;
        }
        event.preventDefault();
    }

    /* A click on a result (mouse) also closes the search. */
    document.addEventListener("click", function (event) {
        const hit = event.target.closest && event.target.closest("#" + RESULTS + " .search-hit");
        const input = document.getElementById(SEARCH);
        if (hit && input && event.isTrusted) clearSearch(input);
        if (event.target.closest && event.target.closest("#keys-help-button")) showOverlay();
    });

    /* --- the dispatcher ----------------------------------------------------------------------------- */

    const ACTIONS = {
        "/": () => {
            const input = document.getElementById(SEARCH);
            if (!input) return false;
            input.focus();
            input.select();
            return true;
        },
        j: () => step("histogram", 1),
        k: () => step("histogram", -1),
        J: () => step("group", 1),
        K: () => step("group", -1),
        n: () => step("group", 1),
        p: () => step("group", -1),
        "[": () => moveWindow(-1),
        "]": () => moveWindow(1),
        a: () => clickIfEnabled("#ts-apply"),
        c: () => clickIfEnabled("#ts-cancel"),
        Escape: () => clickIfEnabled("#ts-cancel"),
        r: () => clickIfEnabled("#ts-reset"),
        o: () => clickIfEnabled("#run-page-overlay"),
        "?": () => {
            showOverlay();
            return true;
        },
    };

    document.addEventListener("keydown", function (event) {
        if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
        if (overlayOpen()) {
            if (event.key === "Escape" || event.key === "?") {
                hideOverlay();
                event.preventDefault();
            }
            return;
        }
        const target = event.target;
        if (target && target.id === SEARCH) {
            searchKey(event, target);
            return;
        }
        if (isTyping(target) || event.defaultPrevented) return;
        const action = ACTIONS[event.key];
        if (action && action()) event.preventDefault();
    });

    /* The search request: the text and the page the browser is at (a time slice shown in place changed
     * the address without telling dcc.Location). */
    window.dash_clientside = Object.assign({}, window.dash_clientside);
    window.dash_clientside.overwatch = Object.assign({}, window.dash_clientside.overwatch, {
        searchRequest: function (value) {
            return {q: value || "", path: window.location.pathname, search: window.location.search};
        },
    });

    window.overwatchKeys = {KEYS: KEYS, isTyping: isTyping};
})();
