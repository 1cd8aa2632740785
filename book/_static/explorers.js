/* Kernel-free explorers: the focal loss (gamma slider) and the class-balanced weights from the
 * effective number of samples (beta slider) of the imbalance chapter; the pushes of the class
 * term and the weighted group term on three logits (lambda slider) of the superclass chapter.
 *
 * The static book cannot run Python, so these draw the closed-form curves in the browser.
 * The formulas are checked against dlcourse.losses and dlcourse.superclass by
 * tests/test_static_explorer.py (via Node).
 *
 * Usage in a page:  <div class="dlc-focal-explorer"></div>
 *                   <div class="dlc-cb-explorer" data-counts="5000,5000,250,..."></div>
 *                   <div class="dlc-superclass-explorer" data-logits="0,0.5,1"></div>
 */
(function (root) {
  "use strict";

  // ---- the formulas (pure functions, exported for the tests) -------------------------------

  /** Focal loss -(1 - p)^gamma * log(p) of the true class's probability p. */
  function focalLoss(p, gamma) {
    return -Math.pow(1 - p, gamma) * Math.log(p);
  }

  /** Derivative of the focal loss with respect to the true class's logit (softmax):
   *  gamma * p * (1 - p)^gamma * log(p) - (1 - p)^(gamma + 1); equals p - 1 when gamma = 0. */
  function focalGradLogit(p, gamma) {
    return gamma * p * Math.pow(1 - p, gamma) * Math.log(p) - Math.pow(1 - p, gamma + 1);
  }

  /** The p_t grid of the focal explorer's curves. */
  var FOCAL_PS = [];
  for (var step = 0; step < 199; step++) FOCAL_PS.push(0.005 + step * 0.005);

  /** Top of the push axis for the focal explorer at ``gamma``: the larger of 1 (cross-entropy's
   *  push at p_t = 0) and the focal push's peak over ``ps``, plus 5% headroom, rounded up to a
   *  multiple of 0.25, so the whole curve shows for every gamma (at gamma = 5 it peaks near 1.3). */
  function focalPushTop(gamma, ps) {
    var peak = 1;
    (ps || FOCAL_PS).forEach(function (p) { peak = Math.max(peak, -focalGradLogit(p, gamma)); });
    return Math.ceil(1.05 * peak / 0.25) * 0.25;
  }

  /** Effective number E_n = (1 - beta^n) / (1 - beta); 1 at beta = 0 and n at beta = 1. */
  function effectiveNumber(n, beta) {
    if (beta === 0) return 1;
    if (beta === 1) return n;
    // 1 - beta^n = -expm1(n log beta): no cancellation when beta is close to 1
    return -Math.expm1(n * Math.log(beta)) / (1 - beta);
  }

  /** Class-balanced weights proportional to 1 / E_n, normalised to sum to the number of classes. */
  function classBalancedWeights(counts, beta) {
    var inv = counts.map(function (n) { return 1 / effectiveNumber(n, beta); });
    var total = inv.reduce(function (a, b) { return a + b; }, 0);
    return inv.map(function (w) { return w * counts.length / total; });
  }

  /** Softmax of a vector of logits (shifted by the largest, so no exponential overflows). */
  function softmax(z) {
    var top = Math.max.apply(null, z);
    var e = z.map(function (v) { return Math.exp(v - top); });
    var total = e.reduce(function (a, b) { return a + b; }, 0);
    return e.map(function (v) { return v / total; });
  }

  /** Gradient of the class term -log p_y with respect to the logits: p - e_y. */
  function classTermGradient(z, y) {
    return softmax(z).map(function (p, j) { return p - (j === y ? 1 : 0); });
  }

  /** Gradient of the soft group term -log p_G, G the group of the true class y:
   *  p_j - [j in G] p_j / p_G. ``groups`` is a list of lists of class indices. */
  function groupTermGradient(z, y, groups) {
    var p = softmax(z);
    var group = groups.filter(function (g) { return g.indexOf(y) >= 0; })[0];
    var pG = group.reduce(function (a, j) { return a + p[j]; }, 0);
    return p.map(function (pj, j) { return pj - (group.indexOf(j) >= 0 ? pj / pG : 0); });
  }

  /** The drawing colours, taken from the theme (pydata-sphinx-theme's CSS variables) so the
   *  canvas stays readable in light and dark mode. ``lookup(name)`` returns a variable's value
   *  ("" when unset); any colour the theme does not give falls back to a light-mode default. */
  var FALLBACK = { main: "#1f77b4", ref: "#7f7f7f", accent: "#d62728", grid: "#e5e5e5", text: "#222" };
  var THEME_VARIABLES = { text: "--pst-color-text-base", grid: "--pst-color-border",
                          ref: "--pst-color-text-muted" };
  function themeColors(lookup) {
    var colors = Object.assign({}, FALLBACK);
    Object.keys(THEME_VARIABLES).forEach(function (key) {
      var value = String(lookup(THEME_VARIABLES[key]) || "").trim();
      if (value) colors[key] = value;
    });
    return colors;
  }

  var api = {
    focalLoss: focalLoss,
    focalGradLogit: focalGradLogit,
    focalPushTop: focalPushTop,
    FOCAL_PS: FOCAL_PS,
    effectiveNumber: effectiveNumber,
    classBalancedWeights: classBalancedWeights,
    softmax: softmax,
    classTermGradient: classTermGradient,
    groupTermGradient: groupTermGradient,
    themeColors: themeColors,
  };
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
  }
  if (typeof document === "undefined") return;

  // ---- drawing ----------------------------------------------------------------------------

  var COLORS = Object.assign({}, FALLBACK);
  var redraws = [];  // every explorer's draw(), run again when the reader switches light/dark

  /** Read the theme's colours now (called before each drawing). */
  function refreshColors() {
    var style = window.getComputedStyle(document.documentElement);
    COLORS = themeColors(function (name) { return style.getPropertyValue(name); });
  }

  function el(tag, attrs, parent) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function tickLabel(t) { return t >= 1e4 ? "1e" + Math.round(Math.log10(t)) : String(t); }

  /** A small line plot on a canvas: series = [{xs, ys, color, dash, label}]. */
  function linePlot(canvas, series, opts) {
    var ctx = canvas.getContext("2d");
    var W = canvas.width, H = canvas.height, L = 52, R = 10, T = 24, B = 38;
    ctx.clearRect(0, 0, W, H);
    ctx.font = "12px sans-serif";
    var tx = opts.logx ? function (x) { return Math.log10(x); } : function (x) { return x; };
    var ty = opts.logy ? function (y) { return Math.log10(y); } : function (y) { return y; };
    var x0 = tx(opts.xmin), x1 = tx(opts.xmax), y0 = ty(opts.ymin), y1 = ty(opts.ymax);
    function px(x) { return L + (tx(x) - x0) / (x1 - x0) * (W - L - R); }
    function py(y) {
      var v = Math.min(Math.max(ty(y), y0), y1);
      return H - B - (v - y0) / (y1 - y0) * (H - T - B);
    }
    ctx.strokeStyle = COLORS.grid;
    ctx.fillStyle = COLORS.text;
    (opts.xticks || []).forEach(function (t) {
      ctx.beginPath(); ctx.moveTo(px(t), T); ctx.lineTo(px(t), H - B); ctx.stroke();
      ctx.fillText(tickLabel(t), px(t) - 8, H - B + 15);
    });
    (opts.yticks || []).forEach(function (t) {
      ctx.beginPath(); ctx.moveTo(L, py(t)); ctx.lineTo(W - R, py(t)); ctx.stroke();
      ctx.fillText(tickLabel(t), 4, py(t) + 4);
    });
    ctx.strokeStyle = COLORS.text;
    ctx.strokeRect(L, T, W - L - R, H - T - B);
    ctx.textAlign = "center";  // the axis label centred under the plot, so a long one fits
    ctx.fillText(opts.xlabel, (W + L - R) / 2, H - 6);
    ctx.textAlign = "left";
    ctx.fillText(opts.title, L, 16);
    series.forEach(function (s, k) {
      ctx.strokeStyle = s.color; ctx.lineWidth = 2;
      ctx.setLineDash(s.dash ? [6, 4] : []);
      ctx.beginPath();
      s.xs.forEach(function (x, i) {
        if (i === 0) ctx.moveTo(px(x), py(s.ys[i])); else ctx.lineTo(px(x), py(s.ys[i]));
      });
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = s.color;  // the legend: top right, or top left where the curves leave room
      ctx.fillText(s.label, opts.legend === "left" ? L + 6 : W - R - 150, T + 16 + 15 * k);
    });
    ctx.lineWidth = 1;
  }

  function barPlot(canvas, values, reference, labels, opts) {
    var ctx = canvas.getContext("2d");
    var W = canvas.width, H = canvas.height, L = 40, R = 10, T = 24, B = 38;
    ctx.clearRect(0, 0, W, H);
    ctx.font = "12px sans-serif";
    var top = opts.ymax;
    var slot = (W - L - R) / values.length;
    function py(y) { return H - B - Math.min(y, top) / top * (H - T - B); }
    ctx.fillStyle = COLORS.text;
    ctx.fillText(opts.title, L, 16);
    ctx.strokeStyle = COLORS.text;
    ctx.strokeRect(L, T, W - L - R, H - T - B);
    [0, top / 2, top].forEach(function (t) { ctx.fillText(t.toFixed(1), 4, py(t) + 4); });
    values.forEach(function (v, i) {
      var x = L + i * slot + slot * 0.15, w = slot * 0.7;
      ctx.fillStyle = COLORS.main;
      ctx.fillRect(x, py(v), w, H - B - py(v));
      ctx.strokeStyle = COLORS.accent;
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(x, py(reference[i]), w, H - B - py(reference[i]));
      ctx.setLineDash([]);
      ctx.fillStyle = COLORS.text;
      ctx.fillText(labels[i], x, H - B + 15);
    });
  }

  function range(n, f) { var out = []; for (var i = 0; i < n; i++) out.push(f(i)); return out; }

  /** The common frame of an explorer: one labelled slider, a text readout, two canvases. */
  function frame(box, labelText, slider) {
    box.innerHTML = "";
    var controls = el("div", { style: "margin:0.5em 0" }, box);
    var label = el("label", {}, controls);
    label.textContent = labelText;
    var input = el("input", Object.assign({ type: "range" }, slider), label);
    var readout = el("span", { style: "margin-left:1em;font-family:monospace" }, controls);
    var row = el("div", { style: "display:flex;flex-wrap:wrap;gap:8px" }, box);
    return { input: input, readout: readout,
             left: el("canvas", { width: "360", height: "260" }, row),
             right: el("canvas", { width: "360", height: "260" }, row) };
  }

  function focalExplorer(box) {
    var f = frame(box, "gamma ", { min: "0", max: "5", step: "0.1", value: "2", "aria-label": "focal gamma" });
    var slider = f.input, readout = f.readout, lossCanvas = f.left, gradCanvas = f.right;
    var ps = FOCAL_PS;
    function draw() {
      refreshColors();
      var g = parseFloat(slider.value);
      var top = focalPushTop(g, ps);  // the y-range holds the whole push curve
      linePlot(lossCanvas, [
        { xs: ps, ys: ps.map(function (p) { return focalLoss(p, 0); }), color: COLORS.ref, dash: true,
          label: "cross-entropy" },
        { xs: ps, ys: ps.map(function (p) { return focalLoss(p, g); }), color: COLORS.main,
          label: "focal, gamma = " + g.toFixed(1) },
      ], { xmin: 0, xmax: 1, ymin: 0, ymax: 6, xticks: [0, 0.25, 0.5, 0.75, 1],
           yticks: [0, 1, 2, 3, 4, 5, 6],  // -log(0.005) = 5.3: the whole sampled curve shows
           xlabel: "p_t (probability of the true class)", title: "loss" });
      linePlot(gradCanvas, [
        { xs: ps, ys: ps.map(function (p) { return -focalGradLogit(p, 0); }), color: COLORS.ref, dash: true,
          label: "cross-entropy" },
        { xs: ps, ys: ps.map(function (p) { return -focalGradLogit(p, g); }), color: COLORS.main,
          label: "focal, gamma = " + g.toFixed(1) },
      ], { xmin: 0, xmax: 1, ymin: 0, ymax: top, xticks: [0, 0.25, 0.5, 0.75, 1],
           yticks: range(Math.floor(top / 0.5) + 1, function (k) { return 0.5 * k; }),
           xlabel: "p_t", title: "push on the true logit, -dL/dz_t" });
      var ratio = focalLoss(0.9, g) / focalLoss(0.9, 0);
      readout.textContent = "gamma = " + g.toFixed(1) + ": at p_t = 0.9 the focal loss is " +
        (100 * ratio).toFixed(1) + "% of the cross-entropy";
    }
    slider.addEventListener("input", draw);
    redraws.push(draw);
    draw();
  }

  function cbExplorer(box) {
    var counts = (box.getAttribute("data-counts") || "").split(",").map(Number).filter(function (n) {
      return n > 0;
    });
    if (!counts.length) { box.textContent = "(no class counts given)"; return; }
    var f = frame(box, "beta = 1 - 10^-k, k ", { min: "0", max: "5", step: "0.05", value: "3",
                                                 "aria-label": "class-balanced beta exponent" });
    var slider = f.input, readout = f.readout, enCanvas = f.left, wCanvas = f.right;
    var ns = range(101, function (i) { return Math.pow(10, i * 0.05); });
    var inverse = classBalancedWeights(counts, 1);
    var labels = counts.map(function (_, i) { return String(i); });
    function draw() {
      refreshColors();
      var k = parseFloat(slider.value);
      var beta = 1 - Math.pow(10, -k);
      linePlot(enCanvas, [
        { xs: ns, ys: ns, color: COLORS.ref, dash: true, label: "E_n = n (beta = 1)" },
        { xs: ns, ys: ns.map(function (n) { return effectiveNumber(n, beta); }), color: COLORS.main,
          label: "E_n, beta = " + beta.toPrecision(5) },
      ], { logx: true, logy: true, xmin: 1, xmax: 1e5, ymin: 1, ymax: 1e5, xticks: [1, 10, 100, 1000, 10000, 100000],
           yticks: [1, 10, 100, 1000, 10000, 100000], xlabel: "number of samples n",
           title: "effective number of samples" });
      var w = classBalancedWeights(counts, beta);
      var top = Math.max.apply(null, inverse.concat(w)) * 1.1;
      barPlot(wCanvas, w, inverse, labels, { ymax: top,
        title: "class weights (dashed: inverse frequency)" });
      var lo = counts.indexOf(Math.min.apply(null, counts));
      var hi = counts.indexOf(Math.max.apply(null, counts));
      readout.textContent = "beta = " + beta.toPrecision(6) + ": the rarest class weighs " +
        (w[lo] / w[hi]).toFixed(2) + "x the most common";
    }
    slider.addEventListener("input", draw);
    redraws.push(draw);
    draw();
  }

  /** Grouped signed bars: series = [{values, color, label}], one group of bars per label. */
  function signedBars(canvas, series, labels, opts) {
    var ctx = canvas.getContext("2d");
    var W = canvas.width, H = canvas.height, L = 40, R = 10, T = 24, B = 38;
    ctx.clearRect(0, 0, W, H);
    ctx.font = "12px sans-serif";
    var top = opts.ymax;
    function py(y) { return T + (top - Math.max(-top, Math.min(top, y))) / (2 * top) * (H - T - B); }
    ctx.fillStyle = COLORS.text;
    ctx.fillText(opts.title, L, 16);
    ctx.strokeStyle = COLORS.text;
    ctx.strokeRect(L, T, W - L - R, H - T - B);
    [-top, 0, top].forEach(function (t) { ctx.fillText(t.toFixed(1), 4, py(t) + 4); });
    ctx.beginPath(); ctx.moveTo(L, py(0)); ctx.lineTo(W - R, py(0)); ctx.stroke();
    var slot = (W - L - R) / labels.length, w = slot * 0.8 / series.length;
    labels.forEach(function (name, i) {
      series.forEach(function (s, k) {
        var x = L + i * slot + slot * 0.1 + k * w, v = s.values[i];
        ctx.fillStyle = s.color;
        ctx.fillRect(x, Math.min(py(v), py(0)), w * 0.9, Math.abs(py(v) - py(0)));
      });
      ctx.fillStyle = COLORS.text;
      ctx.fillText(name, L + i * slot + slot * 0.4, H - B + 15);
    });
    var x = L + 6;  // the legend in one row under the plot, each label after the last one's width
    series.forEach(function (s) {
      ctx.fillStyle = s.color;
      ctx.fillText(s.label, x, H - 6);
      x += ctx.measureText(s.label).width + 14;
    });
  }

  function superclassExplorer(box) {
    var z = (box.getAttribute("data-logits") || "0,0.5,1").split(",").map(Number);
    var groups = [[0, 1], [2]], names = ["A (true)", "B", "C"];  // A and B share a group
    var f = frame(box, "weight of the group term, lambda ", { min: "0", max: "5", step: "0.25",
                                                               value: "1", "aria-label": "lambda" });
    var slider = f.input, readout = f.readout, barCanvas = f.left, lineCanvas = f.right;
    var lams = range(101, function (i) { return i * 0.05; });
    var classPush = classTermGradient(z, 0).map(function (g) { return -g; });
    var groupPush = groupTermGradient(z, 0, groups).map(function (g) { return -g; });
    function draw() {
      refreshColors();
      var lam = parseFloat(slider.value);
      var total = classPush.map(function (c, j) { return c + lam * groupPush[j]; });
      var top = Math.max(1, Math.max.apply(null, total.map(Math.abs))) * 1.1;
      signedBars(barCanvas, [
        { values: classPush, color: COLORS.main, label: "class term" },
        { values: groupPush.map(function (g) { return lam * g; }), color: "#ff7f0e",
          label: "lambda x group term" },
        { values: total, color: COLORS.text, label: "total" },
      ], names, { ymax: top, title: "push on each logit, -dL/dz (descent direction)" });
      var curves = [0, 1, 2].map(function (j) {
        return { xs: lams, ys: lams.map(function (l) { return classPush[j] + l * groupPush[j]; }),
                 color: [COLORS.main, "#ff7f0e", COLORS.accent][j], label: "total push on " + names[j] };
      });
      // the y-range holds every curve whole, in steps of 1, with two units of headroom for the legend
      var all = [].concat.apply([], curves.map(function (c) { return c.ys; }));
      var ymin = Math.floor(Math.min.apply(null, all)), ymax = Math.ceil(Math.max.apply(null, all)) + 2;
      linePlot(lineCanvas, curves.concat([{ xs: [lam, lam], ys: [ymin, ymax], color: COLORS.ref,
                                            dash: true, label: "" }]),
      { xmin: 0, xmax: 5, ymin: ymin, ymax: ymax, xticks: [0, 1, 2, 3, 4, 5],
        yticks: range(ymax - ymin + 1, function (i) { return ymin + i; }), legend: "left",
        xlabel: "lambda", title: "total push against lambda (dashed: the slider)" });
      readout.textContent = "lambda = " + lam.toFixed(2) + ": the total push on B is " +
        (total[1] > 0 ? "up (the group term wins)" : "down (the class term wins)") + ", " +
        total[1].toFixed(3);
    }
    slider.addEventListener("input", draw);
    redraws.push(draw);
    draw();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".dlc-focal-explorer"), focalExplorer);
    Array.prototype.forEach.call(document.querySelectorAll(".dlc-cb-explorer"), cbExplorer);
    Array.prototype.forEach.call(document.querySelectorAll(".dlc-superclass-explorer"), superclassExplorer);
    // pydata-sphinx-theme switches light/dark by setting data-theme / data-mode on <html>
    if (redraws.length && typeof MutationObserver !== "undefined") {
      new MutationObserver(function () { redraws.forEach(function (draw) { draw(); }); })
        .observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme", "data-mode"] });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(this);
