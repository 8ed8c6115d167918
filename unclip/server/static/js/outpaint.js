// The Outpaint tab: an infinite, pannable and zoomable canvas with a square generation frame.
//
// The picture lives in `world` (a canvas) whose top-left is at `origin` in world pixels; it grows to the
// bounding box of everything generated. Generating sends the frame's crop of the world, empty pixels fully
// transparent, to /v1/images/edits; an accepted candidate only fills pixels that were empty, so every
// pixel already on the canvas keeps its exact value.

import * as api from "./api.js";
import {
  $, autoGrow, blobToCanvas, canvasToBlob, clamp, ctx2d, downloadBlob, fileName, newCanvas, submitOnEnter,
} from "./util.js";

const UNDO_LIMIT = 30;
const MAX_SIDE = 16384;
const MAX_PIXELS = 12000 * 12000;
const MIN_SCALE = 0.05;
const MAX_SCALE = 8;

export class OutpaintTab {
  constructor(app) {
    this.app = app;
    this.viewport = $("#op-viewport");
    this.canvas = $("#op-canvas");
    this.ctx = this.canvas.getContext("2d");
    this.prompt = $("#op-prompt");
    this.status = $("#op-status");
    this.world = null;
    this.origin = { x: 0, y: 0 };
    this.frame = { x: 0, y: 0 };
    this.view = { cx: 128, cy: 128, scale: 1 };
    this.candidates = null;
    this.candidateIndex = 0;
    this.candidateFrame = null;
    this.undoStack = [];
    this.redoStack = [];
    this.drag = null;
    this.fills = 0; // accepted fills this session (the hint goes once the user has seen it work)
    autoGrow(this.prompt);
    submitOnEnter(this.prompt);

    $("#op-file").addEventListener("change", (e) => {
      const file = e.target.files?.[0];
      e.target.value = "";
      if (file) this.upload(file);
    });
    $("#op-zoom-in").addEventListener("click", () => this.zoomBy(1.25));
    $("#op-zoom-out").addEventListener("click", () => this.zoomBy(1 / 1.25));
    $("#op-fit").addEventListener("click", () => this.fit());
    $("#op-undo").addEventListener("click", () => this.undo());
    $("#op-redo").addEventListener("click", () => this.redo());
    $("#op-export").addEventListener("click", () => this.exportPng());
    $("#op-prev").addEventListener("click", () => this.pick(this.candidateIndex - 1));
    $("#op-next").addEventListener("click", () => this.pick(this.candidateIndex + 1));
    $("#op-accept").addEventListener("click", () => this.accept());
    $("#op-cancel").addEventListener("click", () => this.cancelCandidates());
    $("#op-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.generate();
    });
    this.canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    this.canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    this.canvas.addEventListener("pointerup", () => this.pointerUp());
    this.canvas.addEventListener("pointercancel", () => this.pointerUp());
    this.canvas.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    new ResizeObserver(() => this.render()).observe(this.viewport);
    this.updateButtons();
  }

  /** The tab became visible (or the frame size changed): an empty canvas centres its frame. */
  shown() {
    if (!this.world && !this.candidates && !this.app.busy) this.fit();
    else this.render();
  }

  frameSize() {
    return this.candidateFrame ? this.candidateFrame.size : this.app.settings.size;
  }

  // ------------------------------------------------------------------ pictures in
  async upload(file) {
    if (this.app.busy || this.candidates) return;
    try {
      this.setWorld(this.fitted(await blobToCanvas(file)));
    } catch (e) {
      this.app.message({ kind: "error", title: "Could not open the image.", text: e.message });
    }
  }

  async loadResult(blob, prompt) {
    if (this.app.busy) return;
    this.app.switchTab("outpaint");
    this.cancelCandidates();
    this.setWorld(this.fitted(await blobToCanvas(blob)));
    if (prompt && !this.prompt.value) this.prompt.value = prompt;
  }

  /** Pictures larger than the frame are scaled down to fit in it (outpainting works at frame scale). */
  fitted(canvas) {
    const side = this.app.settings.size;
    const longest = Math.max(canvas.width, canvas.height);
    if (longest <= side) return canvas;
    const k = side / longest;
    const out = newCanvas(Math.max(1, Math.round(canvas.width * k)), Math.max(1, Math.round(canvas.height * k)));
    const ctx = out.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(canvas, 0, 0, out.width, out.height);
    return out;
  }

  setWorld(canvas) {
    this.pushUndo();
    this.world = canvas;
    this.origin = { x: 0, y: 0 };
    const s = this.app.settings.size;
    // start with the frame half over the picture's right edge, vertically centred
    this.frame = { x: canvas.width - Math.round(s / 2), y: Math.round((canvas.height - s) / 2) };
    this.fit();
    this.updateButtons();
  }

  // ------------------------------------------------------------------ undo / redo
  pushUndo() {
    this.undoStack.push({ world: this.world, origin: { ...this.origin } });
    if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
    this.redoStack = [];
  }

  undo() {
    if (this.app.busy || this.candidates || !this.undoStack.length) return;
    this.redoStack.push({ world: this.world, origin: { ...this.origin } });
    ({ world: this.world, origin: this.origin } = this.undoStack.pop());
    this.render();
    this.updateButtons();
  }

  redo() {
    if (this.app.busy || this.candidates || !this.redoStack.length) return;
    this.undoStack.push({ world: this.world, origin: { ...this.origin } });
    ({ world: this.world, origin: this.origin } = this.redoStack.pop());
    this.render();
    this.updateButtons();
  }

  // ------------------------------------------------------------------ view
  toWorld(e) {
    const rect = this.canvas.getBoundingClientRect();
    const { cx, cy, scale } = this.view;
    return { x: (e.clientX - rect.left - rect.width / 2) / scale + cx, y: (e.clientY - rect.top - rect.height / 2) / scale + cy };
  }

  /** The frame's rectangle in page (client) coordinates. */
  frameScreenRect() {
    const rect = this.canvas.getBoundingClientRect();
    const { cx, cy, scale } = this.view;
    const f = this.candidateFrame || this.frame;
    const s = this.frameSize();
    return {
      x: rect.left + rect.width / 2 + (f.x - cx) * scale,
      y: rect.top + rect.height / 2 + (f.y - cy) * scale,
      width: s * scale,
      height: s * scale,
      scale,
    };
  }

  frameInView() {
    const f = this.frameScreenRect();
    const v = this.canvas.getBoundingClientRect();
    return f.x >= v.left && f.y >= v.top && f.x + f.width <= v.right && f.y + f.height <= v.bottom;
  }

  zoomBy(factor, at = null) {
    const { scale } = this.view;
    const next = clamp(scale * factor, MIN_SCALE, MAX_SCALE);
    if (at) { // keep the world point under the pointer where it is
      this.view.cx = at.x - (at.x - this.view.cx) * (scale / next);
      this.view.cy = at.y - (at.y - this.view.cy) * (scale / next);
    }
    this.view.scale = next;
    this.render();
  }

  fit() {
    const s = this.frameSize();
    const f = this.candidateFrame || this.frame;
    let [x0, y0, x1, y1] = [f.x, f.y, f.x + s, f.y + s];
    if (this.world) {
      x0 = Math.min(x0, this.origin.x);
      y0 = Math.min(y0, this.origin.y);
      x1 = Math.max(x1, this.origin.x + this.world.width);
      y1 = Math.max(y1, this.origin.y + this.world.height);
    }
    const rect = this.canvas.getBoundingClientRect();
    const w = rect.width || 800, h = rect.height || 500;
    this.view = {
      cx: (x0 + x1) / 2,
      cy: (y0 + y1) / 2,
      scale: clamp(Math.min((w - 80) / (x1 - x0), (h - 80) / (y1 - y0)), MIN_SCALE, 2),
    };
    this.render();
  }

  wheel(e) {
    e.preventDefault();
    this.zoomBy(Math.exp(-clamp(e.deltaY, -200, 200) * 0.0015), this.toWorld(e));
  }

  inFrame(p) {
    const s = this.frameSize();
    const f = this.frame;
    return p.x >= f.x && p.x <= f.x + s && p.y >= f.y && p.y <= f.y + s;
  }

  pointerDown(e) {
    if (e.button !== 0 && e.button !== 1) return;
    const p = this.toWorld(e);
    this.canvas.setPointerCapture(e.pointerId);
    if (e.button === 0 && !this.candidates && !this.app.busy && this.inFrame(p)) {
      this.drag = { mode: "frame", dx: p.x - this.frame.x, dy: p.y - this.frame.y };
    } else {
      this.drag = { mode: "pan", x: e.clientX, y: e.clientY, cx: this.view.cx, cy: this.view.cy };
      this.canvas.classList.add("dragging");
    }
  }

  pointerMove(e) {
    const p = this.toWorld(e);
    if (!this.drag) {
      this.canvas.classList.toggle("over-frame", !this.candidates && !this.app.busy && this.inFrame(p));
      return;
    }
    if (this.drag.mode === "frame") {
      this.frame = { x: Math.round(p.x - this.drag.dx), y: Math.round(p.y - this.drag.dy) };
    } else {
      this.view.cx = this.drag.cx - (e.clientX - this.drag.x) / this.view.scale;
      this.view.cy = this.drag.cy - (e.clientY - this.drag.y) / this.view.scale;
    }
    this.render();
  }

  pointerUp() {
    this.drag = null;
    this.canvas.classList.remove("dragging");
  }

  // ------------------------------------------------------------------ drawing
  render() {
    const dpr = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return; // tab hidden
    const W = Math.round(rect.width * dpr), H = Math.round(rect.height * dpr);
    if (this.canvas.width !== W || this.canvas.height !== H) {
      this.canvas.width = W;
      this.canvas.height = H;
    }
    const ctx = this.ctx;
    const { cx, cy, scale } = this.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#ececf0";
    ctx.fillRect(0, 0, W, H);
    const k = scale * dpr;
    const ox = W / 2 - cx * k, oy = H / 2 - cy * k; // screen position (device px) of world 0,0
    this.drawGrid(ctx, k, ox, oy, W, H);
    ctx.setTransform(k, 0, 0, k, ox, oy);
    ctx.imageSmoothingEnabled = scale < 1;
    const s = this.frameSize();
    const f = this.candidateFrame || this.frame;
    if (this.candidates) ctx.drawImage(this.candidates[this.candidateIndex], f.x, f.y, s, s);
    if (this.world) {
      ctx.drawImage(this.world, this.origin.x, this.origin.y);
    }
    // the frame, in device pixels
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const fx = ox + f.x * k, fy = oy + f.y * k, fs = s * k;
    ctx.lineWidth = 2 * dpr;
    ctx.strokeStyle = "rgba(255,255,255,.9)";
    ctx.strokeRect(fx - dpr, fy - dpr, fs + 2 * dpr, fs + 2 * dpr);
    ctx.strokeStyle = this.candidates ? "#0f766e" : "#1d1f23";
    ctx.setLineDash(this.candidates ? [] : [8 * dpr, 5 * dpr]);
    ctx.strokeRect(fx, fy, fs, fs);
    ctx.setLineDash([]);
    ctx.fillStyle = ctx.strokeStyle;
    for (const [hx, hy] of [[fx, fy], [fx + fs, fy], [fx, fy + fs], [fx + fs, fy + fs]]) {
      ctx.fillRect(hx - 4 * dpr, hy - 4 * dpr, 8 * dpr, 8 * dpr);
    }
    const label = this.app.busy && !this.candidates ? "Generating…" : this.candidates
      ? `Candidate ${this.candidateIndex + 1} of ${this.candidates.length}` : `Generation frame ${s}×${s}`;
    ctx.font = `${12 * dpr}px system-ui, sans-serif`;
    const tw = ctx.measureText(label).width;
    ctx.fillStyle = "rgba(29,31,35,.85)";
    ctx.fillRect(fx, fy - 22 * dpr, tw + 14 * dpr, 19 * dpr);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, fx + 7 * dpr, fy - 8 * dpr);

    $("#op-zoom-value").textContent = `${Math.round(scale * 100)}%`;
    $("#op-size").textContent = this.world ? `Canvas ${this.world.width}×${this.world.height}` : "Empty canvas";
    const hint = $("#op-hint");
    hint.hidden = !!this.candidates || this.fills > 0;
    hint.textContent = this.world
      ? "Drag the frame partly over the picture, describe the whole scene and press Generate: the empty part of the frame is filled. Drag elsewhere to pan, scroll to zoom."
      : "Upload a picture to extend, or describe a scene and press Generate to start in the frame. Drag to pan, scroll to zoom.";
  }

  drawGrid(ctx, k, ox, oy, W, H) {
    let step = 64;
    while (step * k < 24) step *= 2;
    while (step * k > 96 && step > 16) step /= 2;
    ctx.fillStyle = "#c9c9d3";
    const r = Math.max(1, k > 0.5 ? 1.2 : 1);
    const x0 = Math.floor(-ox / k / step) * step, y0 = Math.floor(-oy / k / step) * step;
    for (let x = x0; ox + x * k < W; x += step) {
      for (let y = y0; oy + y * k < H; y += step) ctx.fillRect(ox + x * k - r, oy + y * k - r, 2 * r, 2 * r);
    }
  }

  updateButtons() {
    const busy = this.app.busy;
    const picking = !!this.candidates;
    $("#op-upload-label").classList.toggle("disabled", busy || picking);
    $("#op-file").disabled = busy || picking;
    $("#op-undo").disabled = busy || picking || !this.undoStack.length;
    $("#op-redo").disabled = busy || picking || !this.redoStack.length;
    $("#op-export").disabled = !this.world;
    $("#op-submit").disabled = busy || picking;
    $("#op-accept").disabled = busy;
    $("#op-cancel").disabled = busy;
    $("#op-candidates").hidden = !picking;
    this.render();
  }

  // ------------------------------------------------------------------ generating
  async generate() {
    if (this.app.busy || this.candidates) return;
    const prompt = this.prompt.value.trim();
    const size = this.app.settings.size;
    const f = { x: this.frame.x, y: this.frame.y, size };
    const crop = newCanvas(size, size);
    const ctx = ctx2d(crop);
    if (this.world) ctx.drawImage(this.world, this.origin.x - f.x, this.origin.y - f.y);
    const alpha = ctx.getImageData(0, 0, size, size).data;
    let holes = 0;
    for (let i = 3; i < alpha.length; i += 4) if (alpha[i] === 0) holes++;
    if (!holes) {
      this.app.message({ kind: "info", title: "The frame has nothing to fill.", text: "Drag the frame partly off the picture, onto the empty canvas." });
      return;
    }
    if (!prompt) {
      this.app.message({ kind: "info", title: "Describe the scene.", text: "The prompt should describe the whole extended picture." });
      this.prompt.focus();
      return;
    }
    const { x0, y0, x1, y1 } = this.grownBounds(f);
    if (x1 - x0 > MAX_SIDE || y1 - y0 > MAX_SIDE || (x1 - x0) * (y1 - y0) > MAX_PIXELS) {
      this.app.message({ kind: "error", title: "The canvas would be too large.", text: `The browser cannot hold a ${x1 - x0}×${y1 - y0} canvas; export it and start a new one from a crop.` });
      return;
    }
    const { n } = this.app.settings;
    const sent = await canvasToBlob(crop);
    this.candidateFrame = f; // shown while generating, so the frame stays where it was
    this.render();
    const images = await this.app.run(this.status, `Outpainting: ${n} candidate${n > 1 ? "s" : ""}`,
      (signal) => api.edit({ image: sent, prompt, n, size, outpaint: true }, signal));
    if (!images) {
      this.candidateFrame = null;
      this.render();
      return;
    }
    this.app.history.add({ kind: "outpaint", prompt, size, images, source: sent });
    this.candidates = await Promise.all(images.map((blob) => blobToCanvas(blob)));
    if (!this.frameInView()) this.fit();
    this.updateButtons();
    this.pick(0);
  }

  grownBounds(f) {
    let x0 = f.x, y0 = f.y, x1 = f.x + f.size, y1 = f.y + f.size;
    if (this.world) {
      x0 = Math.min(x0, this.origin.x);
      y0 = Math.min(y0, this.origin.y);
      x1 = Math.max(x1, this.origin.x + this.world.width);
      y1 = Math.max(y1, this.origin.y + this.world.height);
    }
    return { x0, y0, x1, y1 };
  }

  pick(index) {
    if (!this.candidates) return;
    const count = this.candidates.length;
    this.candidateIndex = (index + count) % count;
    $("#op-cand-index").textContent = `${this.candidateIndex + 1} / ${count}`;
    this.render();
  }

  accept() {
    if (!this.candidates || this.app.busy) return;
    const f = this.candidateFrame;
    const chosen = this.candidates[this.candidateIndex];
    const { x0, y0, x1, y1 } = this.grownBounds(f);
    const grown = newCanvas(x1 - x0, y1 - y0);
    const ctx = ctx2d(grown);
    if (this.world) ctx.drawImage(this.world, this.origin.x - x0, this.origin.y - y0);
    ctx.globalCompositeOperation = "destination-over"; // only fills pixels that are still empty
    ctx.drawImage(chosen, f.x - x0, f.y - y0, f.size, f.size);
    this.pushUndo();
    this.fills += 1;
    this.world = grown;
    this.origin = { x: x0, y: y0 };
    this.candidates = null;
    this.candidateFrame = null;
    this.updateButtons();
  }

  cancelCandidates() {
    if (!this.candidates) return;
    this.candidates = null;
    this.candidateFrame = null;
    this.updateButtons();
  }

  async exportPng() {
    if (!this.world) return;
    downloadBlob(await canvasToBlob(this.world), fileName(this.prompt.value.trim() || "canvas", `${this.world.width}x${this.world.height}`));
  }

  // ------------------------------------------------------------------ keys
  key(e) {
    const mod = e.ctrlKey || e.metaKey;
    if (mod && (e.key === "z" || e.key === "Z") && !e.shiftKey) this.undo();
    else if (mod && ((e.key === "z" || e.key === "Z") && e.shiftKey || e.key === "y")) this.redo();
    else if (mod) return false;
    else if (this.candidates && e.key === "ArrowLeft") this.pick(this.candidateIndex - 1);
    else if (this.candidates && e.key === "ArrowRight") this.pick(this.candidateIndex + 1);
    else if (this.candidates && e.key === "Enter") this.accept();
    else if (this.candidates && e.key === "Escape") this.cancelCandidates();
    else if (!this.candidates && !this.app.busy && e.key.startsWith("Arrow")) {
      const step = e.shiftKey ? 64 : 8;
      const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
      this.frame = { x: this.frame.x + d[0], y: this.frame.y + d[1] };
      this.render();
    } else if (e.key === "+" || e.key === "=") this.zoomBy(1.25);
    else if (e.key === "-") this.zoomBy(1 / 1.25);
    else if (e.key === "0") this.fit();
    else return false;
    return true;
  }
}
