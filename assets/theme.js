/*
 * Light and dark mode (Bootstrap 5.3 colour modes: data-bs-theme on <html>) and plots that follow it.
 *
 * The mode is the one chosen with the header's toggle (#theme-toggle), remembered in this browser's
 * localStorage; without a choice it follows the system setting (prefers-color-scheme), also when that
 * changes. Plotly figures come from the server drawn for light pages: in dark mode each graph is relaid
 * out with dark backgrounds, text and axis lines, and its light values are kept to go back. A graph is
 * themed when it is drawn (plotly_afterplot), so plots mounted later (lazy plots, a time slice put in
 * place, which redraws a figure in its light colours) are themed too.
 */
(function () {
    "use strict";

    const KEY = "overwatch-theme";
    const root = document.documentElement;
    const system = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

    /* Bootstrap 5.3's dark body colours, so plots sit on the page as cards do. */
    const DARK = {
        paper: "#212529",
        plot: "#2b3035",
        font: "#dee2e6",
        grid: "#495057",
        line: "#adb5bd",
        legend: "rgba(33,37,41,0.7)",
    };

    function stored() {
        try {
            const value = window.localStorage.getItem(KEY);
            return value === "dark" || value === "light" ? value : null;
        } catch (e) {
            return null;
        }
    }

    function preferred() {
        return stored() || (system && system.matches ? "dark" : "light");
    }

    function mode() {
        return root.getAttribute("data-bs-theme") === "dark" ? "dark" : "light";
    }

    /* Layout keys a dark plot changes, with their dark values (axes found in the drawn layout). */
    function darkValues(gd) {
        const values = {
            paper_bgcolor: DARK.paper,
            plot_bgcolor: DARK.plot,
            "font.color": DARK.font,
        };
        const layout = gd._fullLayout || {};
        for (const name of Object.keys(layout)) {
            if (!/^[xy]axis\d*$/.test(name)) continue;
            values[name + ".gridcolor"] = DARK.grid;
            values[name + ".linecolor"] = DARK.line;
            values[name + ".zerolinecolor"] = DARK.grid;
        }
        if (gd.layout && gd.layout.legend) {
            values["legend.bgcolor"] = DARK.legend;
        }
        return values;
    }

    function get(layout, path) {
        let value = layout;
        for (const part of path.split(".")) {
            if (value === undefined || value === null) return undefined;
            value = value[part];
        }
        return value;
    }

    /* Trace colours too dark to read on a dark plot (ROOT's kBlue, black) are mixed with white. */
    const TRACE_COLOURS = ["line.color", "marker.color", "marker.line.color", "error_y.color"];

    function rgb(colour) {
        if (typeof colour !== "string") return null;
        let m = /^#([0-9a-f]{6})$/i.exec(colour.trim());
        if (m) return [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16));
        m = /^#([0-9a-f]{3})$/i.exec(colour.trim());
        if (m) return [0, 1, 2].map((i) => parseInt(m[1][i] + m[1][i], 16));
        m = /^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)/i.exec(colour.trim());
        if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
        const named = {black: [0, 0, 0], blue: [0, 0, 255], navy: [0, 0, 128], darkblue: [0, 0, 139]};
        return named[colour.trim().toLowerCase()] || null;
    }

    function readable(colour) {
        const c = rgb(colour);
        if (!c) return undefined;
        const lin = c.map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        });
        const luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
        if (luminance >= 0.18) return undefined;
        const light = c.map((v) => Math.round(v + (255 - v) * 0.55));
        return "rgb(" + light.join(",") + ")";
    }

    /* Per colour path, one value per trace: the lighter colour, or undefined (that trace unchanged). */
    function darkTraces(gd) {
        const update = {};
        const light = {};
        for (const path of TRACE_COLOURS) {
            const values = (gd.data || []).map((trace) => readable(get(trace, path)));
            if (values.some((v) => v !== undefined)) {
                update[path] = values;
                light[path] = (gd.data || []).map((trace, i) => (values[i] === undefined ? undefined : get(trace, path)));
            }
        }
        return {update: update, light: light};
    }

    function isDark(gd) {
        return gd.layout && gd.layout.paper_bgcolor === DARK.paper;
    }

    function themeGraph(gd) {
        if (!window.Plotly || !gd.layout || !gd._fullLayout) return;
        if (mode() === "dark") {
            if (isDark(gd)) return;
            const values = darkValues(gd);
            const light = {};
            for (const path of Object.keys(values)) {
                const value = get(gd.layout, path);
                light[path] = value === undefined ? null : value; // null: back to Plotly's default
            }
            const traces = darkTraces(gd);
            gd.__owLight = {layout: light, traces: traces.light};
            window.Plotly.update(gd, traces.update, values);
        } else if (isDark(gd) && gd.__owLight) {
            const light = gd.__owLight;
            gd.__owLight = null;
            window.Plotly.update(gd, light.traces, light.layout);
        }
    }

    const watched = new WeakSet();

    function watch(gd) {
        if (watched.has(gd) || typeof gd.on !== "function") return;
        watched.add(gd);
        gd.on("plotly_afterplot", function () {
            themeGraph(gd);
        });
        themeGraph(gd);
    }

    function themeAll() {
        for (const gd of document.querySelectorAll(".js-plotly-plot")) {
            watch(gd);
            themeGraph(gd);
        }
    }

    function apply(value) {
        root.setAttribute("data-bs-theme", value);
        const toggle = document.getElementById("theme-toggle");
        if (toggle) {
            toggle.setAttribute("aria-pressed", value === "dark" ? "true" : "false");
            toggle.title = value === "dark" ? "Switch to light mode" : "Switch to dark mode";
        }
        themeAll();
    }

    function toggle() {
        const next = mode() === "dark" ? "light" : "dark";
        try {
            window.localStorage.setItem(KEY, next);
        } catch (e) {
            /* private mode without storage: the choice lasts for this page */
        }
        apply(next);
    }

    apply(preferred());
    if (system && system.addEventListener) {
        system.addEventListener("change", function () {
            if (!stored()) apply(preferred());
        });
    }
    document.addEventListener("click", function (event) {
        if (event.target.closest && event.target.closest("#theme-toggle")) toggle();
    });

    /* Graphs as Dash mounts them, and the toggle's state once the header is rendered. */
    let queued = false;
    new MutationObserver(function () {
        if (queued) return;
        queued = true;
        window.requestAnimationFrame(function () {
            queued = false;
            for (const gd of document.querySelectorAll(".js-plotly-plot")) watch(gd);
            const button = document.getElementById("theme-toggle");
            if (button && !button.hasAttribute("aria-pressed")) apply(mode());
        });
    }).observe(document.documentElement, {childList: true, subtree: true});

    window.overwatchTheme = {toggle: toggle, mode: mode};
})();
