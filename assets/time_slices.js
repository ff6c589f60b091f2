/*
 * Time slices in place (dashboard/callbacks/time_slices.py): put a shown state into the mounted page,
 * keep the address bar in step with history.pushState, answer back/forward without Dash's pages router,
 * and the live hot-channel threshold what-if.
 *
 * Why not dcc.Location: with Dash Pages any change of the URL through a dcc.Location re-runs the router,
 * which rebuilds the page and remounts every graph. A pushState of our own is invisible to the router,
 * so back/forward between such entries is answered here too: the popped address is handed to the server
 * (store "ts-show"), which sends that state's data as a time slice would.
 */
(function () {
    "use strict";

    const SLICE_KEYS = ["from", "to", "threshold", "scale"];
    const RUN_PAGE = /^\/runs\/[^/]+\/[^/]+$/;
    const MARK = "hot-channel-threshold";
    const MARK_COLOUR = "#d55e00";
    /* Graphs this far (px) outside the window are updated one frame after the visible ones. */
    const NEAR = 100;

    /* The address the page shows; what a navigation event left behind is compared with it. */
    let current = window.location.href;
    /* Counts results put in place: graph updates deferred for an older one are dropped. */
    let generation = 0;

    /* The page layout an address asks for: the same path and the same parameters other than the slice's
     * (group, hist, ...) are drawn by the same components, so only their data differ. */
    function layoutKey(href) {
        const url = new URL(href, window.location.href);
        if (!RUN_PAGE.test(url.pathname)) {
            return null;
        }
        const rest = Array.from(url.searchParams.entries()).filter(([key]) => !SLICE_KEYS.includes(key));
        rest.sort((a, b) => (a[0] + "=" + a[1] < b[0] + "=" + b[1] ? -1 : 1));
        return url.pathname + "?" + JSON.stringify(rest);
    }

    function cancelRunningJob() {
        const cancel = document.getElementById("ts-cancel");
        if (cancel && !cancel.disabled) {
            cancel.click();
        }
    }

    /* Back/forward (popstate) and dcc.Link clicks (_dashprivate_pushstate) within one run page's layout:
     * shown in place. This listener is registered before any dcc.Location mounts, so stopping the event
     * here keeps the router from rebuilding the page. Other navigations go on to the router. */
    function onNavigation(event) {
        const target = window.location.href;
        const before = current;
        current = target;
        const key = layoutKey(target);
        if (key === null || key !== layoutKey(before) || !document.getElementById("ts-apply")) {
            return;
        }
        event.stopImmediatePropagation();
        if (target === before) {
            return;
        }
        cancelRunningJob();
        window.dash_clientside.set_props("ts-show", {
            data: {search: window.location.search, href: target, at: Date.now()},
        });
    }

    window.addEventListener("popstate", onNavigation);
    window.addEventListener("_dashprivate_pushstate", onNavigation);

    function pushAddress(href) {
        const absolute = new URL(href, window.location.href).href;
        if (absolute !== window.location.href) {
            window.history.pushState({overwatch: "time-slice"}, "", absolute);
        }
        current = window.location.href;
    }

    /* The DOM id Dash gives a component with a dict id (its keys sorted, as dash-renderer's stringifyId). */
    function domId(id) {
        return "{" + Object.keys(id).sort().map((k) => JSON.stringify(k) + ":" + JSON.stringify(id[k])).join(",") + "}";
    }

    function nearTheWindow(id) {
        const element = document.getElementById(domId(id));
        if (!element) {
            return false;
        }
        const box = element.getBoundingClientRect();
        return box.bottom > -NEAR && box.top < window.innerHeight + NEAR;
    }

    /* Graphs in or near the window (and their information panels) are updated with the rest of the
     * result; the others after the next frame, so what the user sees is drawn first (Plotly redraws a
     * plot in 15-30 ms). Returns the values of the graph and information outputs for now. */
    function perGraph(graphOutputs, infoOutputs, result) {
        const nu = window.dash_clientside.no_update;
        const near = new Set(graphOutputs.filter((o) => nearTheWindow(o.id)).map((o) => o.id.name));
        const later = [];
        const split = (outputs, table, prop) => outputs.map((o) => {
            if (!(o.id.name in table)) {
                return nu;
            }
            if (near.has(o.id.name)) {
                return table[o.id.name];
            }
            later.push([o.id, {[prop]: table[o.id.name]}]);
            return nu;
        });
        const now = [split(graphOutputs, result.graphs, "figure"), split(infoOutputs, result.info, "children")];
        const mine = generation;
        if (later.length) {
            window.requestAnimationFrame(() => window.setTimeout(() => {
                if (mine !== generation) {
                    return;
                }
                later.forEach(([id, props]) => {
                    if (document.getElementById(domId(id))) {
                        window.dash_clientside.set_props(id, props);
                    }
                });
            }, 0));
        }
        return now;
    }

    /* Graphs mounted after the request was made (lazy plots scrolled into view) got no patch: ask for
     * the shown state's data of those, once the context this result brings is in place. */
    function refreshMissing(graphOutputs, result) {
        const missing = graphOutputs.map((o) => o.id.name).filter((name) => !(name in result.graphs));
        if (!missing.length) {
            return;
        }
        const search = new URL(result.href, window.location.href).search;
        window.setTimeout(() => window.dash_clientside.set_props("ts-show", {
            data: {search: search, names: missing, refresh: true, at: Date.now()},
        }), 0);
    }

    function decode(packed) {
        const bytes = Uint8Array.from(window.atob(packed.bdata), (c) => c.charCodeAt(0));
        return packed.dtype === "u4" ? new Uint32Array(bytes.buffer) : new Uint16Array(bytes.buffer);
    }

    function noUpdateFor(outputs) {
        return outputs.map(() => window.dash_clientside.no_update);
    }

    /* A result is put in place only where it was asked for: "from" is the page state (its address) when
     * the request was made, null for a state the browser already went to. */
    function stillWanted(result, context) {
        return result.from === null || (context && context.href === result.from);
    }

    /* Threshold line, or a note at the top when no bin reaches it (as hot_channels.threshold_mark). */
    function thresholdMark(threshold, text, highest) {
        if (highest !== null && threshold <= highest) {
            return ["shapes", {
                type: "line", name: MARK, xref: "paper", x0: 0, x1: 1, yref: "y", y0: threshold,
                y1: threshold, line: {color: MARK_COLOUR, width: 1, dash: "dash"}, layer: "above",
            }];
        }
        return ["annotations", {
            name: MARK, text: "threshold " + text + " ↑ (above every bin)", xref: "paper",
            yref: "paper", x: 1, y: 1, xanchor: "right", yanchor: "top", showarrow: false,
            font: {size: 9, color: MARK_COLOUR},
        }];
    }

    function markPatch(figure, threshold, text, highest) {
        const layout = (figure && figure.layout) || {};
        const [where, item] = thresholdMark(threshold, text, highest);
        const keep = (items) => (items || []).filter((i) => i.name !== MARK);
        const shapes = keep(layout.shapes);
        const annotations = keep(layout.annotations);
        (where === "shapes" ? shapes : annotations).push(item);
        return {
            __dash_patch_update: "__dash_patch_update",
            operations: [
                {operation: "Assign", location: ["layout", "shapes"], params: {value: shapes}},
                {operation: "Assign", location: ["layout", "annotations"], params: {value: annotations}},
            ],
        };
    }

    /* The hot channels at slider value k (0: each histogram's default threshold), as Apply would list them. */
    function hotAt(data, k) {
        if (k === 0) {
            return {threshold: data.default_threshold, text: data.default_text, ids: decode(data.default_ids)};
        }
        const ids = decode(data.ids);
        const steps = decode(data.steps);
        const hot = [];
        for (let i = 0; i < ids.length; i++) {
            if (steps[i] >= k) {
                hot.push(ids[i]);
            }
        }
        return {threshold: k / 1000, text: String(k / 1000), ids: hot};
    }

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.time_slices = {
        /* A RESULT of the server (a slice, the full run, or a state the browser went to) into the mounted
         * page: graphs (dash.Patch), information panels, description and sidebar, context, controls. */
        apply: function (result, context) {
            const nu = window.dash_clientside.no_update;
            const outputs = window.dash_clientside.callback_context.outputs_list;
            if (!result || !stillWanted(result, context) || result.kind === "render") {
                return nu;
            }
            if (result.kind === "reload") {
                window.location.reload();
                return nu;
            }
            if (result.kind === "error") {
                return outputs.map((o, i) => (i === 7 ? result.message : Array.isArray(o) ? noUpdateFor(o) : nu));
            }
            generation += 1;
            if (result.push) {
                pushAddress(result.href);
            }
            const [graphs, info] = perGraph(outputs[0], outputs[1], result);
            if (result.refresh) {
                return [graphs, info, ...outputs.slice(2).map(() => nu)];
            }
            refreshMissing(outputs[0], result);
            const controls = result.controls;
            return [
                graphs,
                info,
                outputs[2].map((o) => (o.id.name in result.parts ? result.parts[o.id.name] : nu)),
                result.context,
                controls ? controls.range : nu,
                controls ? controls.threshold : nu,
                controls ? controls.scale : nu,
                result.message,
            ];
        },

        /* A permalink whose slice had to be computed: the whole page body ("Computing…" before). */
        render: function (result, context) {
            const nu = window.dash_clientside.no_update;
            if (!result || !stillWanted(result, context)) {
                return nu;
            }
            if (result.kind === "error") {
                return [nu, nu, result.message];
            }
            if (result.kind !== "render") {
                return nu;
            }
            return [result.main, result.context, result.message];
        },

        /* The live threshold what-if: line and hot-channel list of every mounted FastOR plot, from the
         * data the page holds (the hist-hot stores), at the slider's value while it moves. */
        whatIf: function (value, dragValue, stores, figures) {
            const nu = window.dash_clientside.no_update;
            const outputs = window.dash_clientside.callback_context.outputs_list;
            const triggered = window.dash_clientside.callback_context.triggered.map((t) => t.prop_id);
            const dragging = triggered.some((id) => id.endsWith(".drag_value"));
            const k = dragging && typeof dragValue === "number" ? dragValue : value;
            if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k > 1000) {
                return nu;
            }
            const states = window.dash_clientside.callback_context.states_list;
            const byName = {};
            states[0].forEach((s, i) => {
                if (stores[i]) {
                    byName[s.id.name] = Object.assign({figure: null}, hotAt(stores[i], k), {data: stores[i]});
                }
            });
            states[1].forEach((s, i) => {
                if (byName[s.id.name]) {
                    byName[s.id.name].figure = figures[i];
                }
            });
            const figureOut = outputs[0].map((o) => {
                const hot = byName[o.id.name];
                return hot ? markPatch(hot.figure, hot.threshold, hot.text, hot.data.max) : nu;
            });
            const thresholdOut = outputs[1].map((o) => {
                const hot = byName[o.id.name];
                if (!hot) {
                    return nu;
                }
                if (hot.text === hot.data.shown_threshold) {
                    return hot.text;
                }
                return [hot.text, {
                    type: "Em", namespace: "dash_html_components",
                    props: {children: " (what-if: Apply computes the slice)", className: "ts-what-if text-warning"},
                }];
            });
            const idsOut = outputs[2].map((o) => {
                const hot = byName[o.id.name];
                if (!hot) {
                    return nu;
                }
                return hot.ids.length ? Array.from(hot.ids).join(", ") : "none";
            });
            return [figureOut, thresholdOut, idsOut];
        },
    };
})();
