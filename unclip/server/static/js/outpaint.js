// The Canvas tab (DALL-E 2's editor): an infinite, pannable and zoomable canvas where uploads, the
// eraser and a square generation frame work together. A picture can be extended (the frame partly over
// empty canvas), edited (erase inside it, put the frame over the erased part) and extended again.
//
// The canvas is a list of steps (canvas-ops.js: place, fill, erase, clear); `k` of them are applied.
// Undo/redo move `k` through every kind of step. Generating sends the frame's crop, empty pixels fully
// transparent, to /v1/images/edits; an accepted candidate only fills pixels that were empty, so every
// pixel already on the canvas keeps its exact value. The steps (pictures by blob id), the frame and any
// candidates being chosen are saved in IndexedDB (sessions.js) and come back after a reload.

import * as api from "./api.js";
import { EMPTY, apply, grownBounds, savedOp } from "./canvas-ops.js";
import {
  $, autoGrow, blobToCanvas, canvasToBlob, clamp, ctx2d, downloadBlob, fileName, newCanvas, submitOnEnter,
} from "./util.js";

const SNAPSHOTS = 30; // canvases kept for undo; older states are replayed from the steps
const MAX_SIDE = 16384;
const MAX_PIXELS = 12000 * 12000;
const MIN_SCALE = 0.05;
const MAX_SCALE = 8;
const SESSION = "canvas";

export class OutpaintTab {
  constructor(app) {
    this.app = app;
    this.viewport = $("#op-viewport");
    this.canvas = $("#op-canvas");
    this.ctx = this.canvas.getContext("2d");
    this.prompt = $("#op-prompt");
    this.status = $("#op-status");
    this.ops = []; // every step, including undone ones (redo)
    this.k = 0; // steps applied
    this.snaps = new Map([[0, EMPTY]]); // k -> state
    this.world = null;
    this.origin = { x: 0, y: 0 };
    this.frame = { x: 0, y: 0 };
    this.view = { cx: 128, cy: 128, scale: 1 };
    this.tool = "frame"; // or "erase"
    this.brush = Number(localStorage.getItem("unclip.canvasBrush")) || 32; // on-screen diameter, CSS px
    this.candidates = null; // [canvas]
    this.candidateBlobs = null; // [Blob]: the server's PNGs
    this.candidateEntry = null;
    this.candidateIndex = 0;
    this.candidateFrame = null;
    this.drag = null;
    this.cursor = null;
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
    $("#op-keep").addEventListener("click", () => this.keepInHistory());
    $("#op-new").addEventListener("click", () => this.newCanvas());
    $("#op-tool-frame").addEventListener("click", () => this.setTool("frame"));
    $("#op-tool-erase").addEventListener("click", () => this.setTool("erase"));
    $("#op-brush").addEventListener("input", (e) => this.setBrush(Number(e.target.value)));
    $("#op-prev").addEventListener("click", () => this.pick(this.candidateIndex - 1));
    $("#op-next").addEventListener("click", () => this.pick(this.candidateIndex + 1));
    $("#op-accept").addEventListener("click", () => this.accept());
    $("#op-cancel").addEventListener("click", () => this.cancelCandidates());
    $("#op-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.generate();
    });
    this.prompt.addEventListener("change", () => this.persist());
    this.canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    this.canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    this.canvas.addEventListener("pointerup", () => this.pointerUp());
    this.canvas.addEventListener("pointercancel", () => this.pointerUp());
    this.canvas.addEventListener("pointerleave", () => {
      this.cursor = null;
      this.render();
    });
    this.canvas.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    new ResizeObserver(() => this.render()).observe(this.viewport);
    this.setBrush(this.brush);
    this.setTool("frame");
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

  fills() {
    return this.ops.slice(0, this.k).filter((op) => op.type === "fill").length;
  }

  // ------------------------------------------------------------------ steps, undo / redo
  /** The state after the first `k` steps: a kept snapshot, or replayed from the nearest earlier one. */
  stateAt(k) {
    let j = k;
    while (!this.snaps.has(j)) j--;
    let state = this.snaps.get(j);
    for (; j < k; j++) state = apply(state, this.ops[j]);
    this.remember(k, state);
    return state;
  }

  remember(k, state) {
    this.snaps.set(k, state);
    for (const key of this.snaps.keys()) if (key !== 0 && Math.abs(key - k) > SNAPSHOTS) this.snaps.delete(key);
  }

  show(state) {
    this.world = state.world;
    this.origin = { ...state.origin };
    this.render();
    this.updateButtons();
  }

  /** Apply a new step (dropping any undone ones) and save. */
  commit(op, state = null) {
    this.ops = this.ops.slice(0, this.k);
    for (const key of this.snaps.keys()) if (key > this.k) this.snaps.delete(key);
    const next = state || apply(this.stateAt(this.k), op);
    this.ops.push(op);
    this.k += 1;
    this.remember(this.k, next);
    this.show(next);
    this.persist();
  }

  undo() {
    if (this.app.busy || this.candidates || this.drag || this.k === 0) return;
    this.k -= 1;
    this.show(this.stateAt(this.k));
    this.persist();
  }

  redo() {
    if (this.app.busy || this.candidates || this.drag || this.k >= this.ops.length) return;
    this.k += 1;
    this.show(this.stateAt(this.k));
    this.persist();
  }

  /** A picture's PNG kept once in the browser; the step refers to it by id. */
  keepBlob(op, blob) {
    op.blob = blob;
    op.kept = this.app.sessions.putBlob(blob).then((id) => {
      op.blobId = id;
    }, (e) => {
      this.app.storageFailed(e, "This step of the canvas is not saved");
    });
    return op.kept;
  }

  // ------------------------------------------------------------------ the saved session
  persist() {
    this.app.sessions.save(SESSION, async () => {
      await Promise.all(this.ops.map((op) => op.kept));
      return this.sessionRecord();
    });
  }

  sessionRecord() {
    return ({
      ops: this.ops.map(savedOp),
      k: this.k,
      frame: { ...this.frame },
      prompt: this.prompt.value,
      candidates: this.candidates && this.candidateEntry
        ? { entryId: this.candidateEntry.id, index: this.candidateIndex, frame: this.candidateFrame } : null,
    });
  }

  /** Steps as saved -> steps with their pictures decoded (a step whose picture is gone has none). */
  async loadOps(saved) {
    const ops = [];
    for (const op of saved) {
      const copy = { ...op };
      if (op.blobId != null) {
        const blob = await this.app.sessions.getBlob(op.blobId);
        if (blob) {
          copy.blob = blob;
          copy.image = await blobToCanvas(blob);
        }
      }
      ops.push(copy);
    }
    return ops;
  }

  /** Bring back the saved session (at start). */
  async restoreSession() {
    const saved = await this.app.sessions.load(SESSION);
    if (!saved?.ops) return false;
    this.ops = await this.loadOps(saved.ops);
    this.k = clamp(saved.k ?? this.ops.length, 0, this.ops.length);
    this.snaps = new Map([[0, EMPTY]]);
    if (saved.frame) this.frame = { ...saved.frame };
    if (saved.prompt) this.prompt.value = saved.prompt;
    this.show(this.stateAt(this.k));
    const entry = saved.candidates ? this.app.history.byId(saved.candidates.entryId) : null;
    if (entry) await this.showCandidates(entry, saved.candidates.frame, saved.candidates.index);
    this.fit();
    return true;
  }

  /** What a history entry needs to open the canvas again as it is now. */
  async restorePoint() {
    await Promise.all(this.ops.map((op) => op.kept)); // every picture stored, so every step has its blob id
    return { ops: this.ops.slice(0, this.k).map(savedOp), frame: { ...this.frame } };
  }

  /** A history entry of this tab (outpainting candidates or a kept canvas), clicked. When its steps are
   *  the start of this canvas's steps, it goes back to that point (redo comes forward again); otherwise the
   *  canvas is replaced by the entry's. Outpainting candidates are shown to choose from again. */
  async openEntry(entry) {
    if (this.app.busy) return;
    this.app.switchTab("outpaint");
    this.cancelCandidates();
    const point = entry.restore;
    if (point) {
      const same = point.ops.length <= this.ops.length
        && point.ops.every((op, i) => JSON.stringify(op) === JSON.stringify(savedOp(this.ops[i])));
      if (!same) {
        this.ops = await this.loadOps(point.ops);
        this.snaps = new Map([[0, EMPTY]]);
      }
      this.k = point.ops.length;
      if (point.frame) this.frame = { ...point.frame };
      this.show(this.stateAt(this.k));
    }
    if (entry.prompt) this.prompt.value = entry.prompt;
    if (entry.kind === "outpaint" && entry.frame) await this.showCandidates(entry, entry.frame, 0);
    this.fit();
    this.persist();
  }

  // ------------------------------------------------------------------ pictures in
  /** An upload starts the canvas when it is empty; otherwise it is placed in the frame, over the canvas. */
  async upload(file) {
    if (this.app.busy || this.candidates) return;
    let picture;
    try {
      picture = this.fitted(await blobToCanvas(file));
    } catch (e) {
      this.app.message({ kind: "error", title: "Could not open the image.", text: e.message });
      return;
    }
    const blob = await canvasToBlob(picture);
    if (!this.world) {
      await this.start(picture, blob);
      return;
    }
    const s = this.frameSize();
    const op = { type: "place", x: this.frame.x + Math.round((s - picture.width) / 2),
      y: this.frame.y + Math.round((s - picture.height) / 2), image: picture };
    if (!this.fitsBrowser(grownBounds(this.stateAt(this.k), op.x, op.y, picture.width, picture.height))) return;
    await this.keepBlob(op, blob);
    this.commit(op);
  }

  async loadResult(blob, prompt) {
    if (this.app.busy) return;
    this.app.switchTab("outpaint");
    this.cancelCandidates();
    const picture = await blobToCanvas(blob);
    const fitted = this.fitted(picture);
    await this.start(fitted, fitted === picture ? blob : await canvasToBlob(fitted));
    if (prompt && !this.prompt.value) this.prompt.value = prompt;
  }

  /** A new canvas holding `picture` at 0,0 (undoable: the previous canvas is a step back). */
  async start(picture, blob) {
    const op = { type: "place", x: 0, y: 0, fresh: true, image: picture };
    await this.keepBlob(op, blob);
    const s = this.app.settings.size;
    // the frame starts over the picture's right edge, covering at most half of the picture
    const overlap = Math.round(Math.min(s, picture.width) / 2);
    this.frame = { x: picture.width - overlap, y: Math.round((picture.height - s) / 2) };
    this.commit(op);
    this.fit();
  }

  newCanvas() {
    if (this.app.busy || this.candidates || !this.world) return;
    this.commit({ type: "clear" });
    this.fit();
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

  fitsBrowser({ x0, y0, x1, y1 }) {
    if (x1 - x0 > MAX_SIDE || y1 - y0 > MAX_SIDE || (x1 - x0) * (y1 - y0) > MAX_PIXELS) {
      this.app.message({ kind: "error", title: "The canvas would be too large.", text: `The browser cannot hold a ${x1 - x0}×${y1 - y0} canvas; export it and start a new one from a crop.` });
      return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ tools
  setTool(tool) {
    this.tool = tool;
    $("#op-tool-frame").setAttribute("aria-pressed", String(tool === "frame"));
    $("#op-tool-erase").setAttribute("aria-pressed", String(tool === "erase"));
    this.canvas.classList.toggle("erasing", tool === "erase");
    this.render();
  }

  setBrush(size) {
    this.brush = clamp(Math.round(size), 4, 160);
    $("#op-brush").value = String(this.brush);
    try {
      localStorage.setItem("unclip.canvasBrush", String(this.brush));
    } catch { /* ignore */ }
    this.render();
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
    const idle = !this.candidates && !this.app.busy;
    if (e.button === 0 && idle && this.tool === "erase" && this.world) {
      const r = this.brush / 2 / this.view.scale;
      this.drag = { mode: "erase", points: [[p.x, p.y]], r };
      this.preview();
    } else if (e.button === 0 && idle && this.tool === "frame" && this.inFrame(p)) {
      this.drag = { mode: "frame", dx: p.x - this.frame.x, dy: p.y - this.frame.y };
    } else {
      this.drag = { mode: "pan", x: e.clientX, y: e.clientY, cx: this.view.cx, cy: this.view.cy };
      this.canvas.classList.add("dragging");
    }
  }

  pointerMove(e) {
    const p = this.toWorld(e);
    this.cursor = p;
    if (!this.drag) {
      this.canvas.classList.toggle("over-frame", this.tool === "frame" && !this.candidates && !this.app.busy && this.inFrame(p));
      if (this.tool === "erase") this.render();
      return;
    }
    if (this.drag.mode === "erase") {
      this.drag.points.push([Math.round(p.x * 100) / 100, Math.round(p.y * 100) / 100]);
      this.preview();
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
    const drag = this.drag;
    this.drag = null;
    this.canvas.classList.remove("dragging");
    if (drag?.mode === "erase") {
      this.commit({ type: "erase", points: drag.points, r: Math.round(drag.r * 100) / 100 });
    } else if (drag?.mode === "frame") {
      this.persist();
    }
  }

  /** The stroke so far, shown on the canvas (the step itself is made when the stroke ends). */
  preview() {
    const state = apply(this.stateAt(this.k), { type: "erase", points: this.drag.points, r: this.drag.r });
    this.world = state.world;
    this.render();
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
    else if (this.forming) ctx.drawImage(this.forming.canvas, f.x, f.y, s, s);
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
    const busyLabel = this.forming ? `Forming… (preview ${this.forming.index + 1})` : "Generating…";
    const label = this.app.busy && !this.candidates ? busyLabel : this.candidates
      ? `Candidate ${this.candidateIndex + 1} of ${this.candidates.length}` : `Generation frame ${s}×${s}`;
    ctx.font = `${12 * dpr}px system-ui, sans-serif`;
    const tw = ctx.measureText(label).width + 14 * dpr;
    // above the frame, or inside its top edge when that would be off screen; never past the sides
    const ly = fy - 22 * dpr >= 0 ? fy - 22 * dpr : Math.max(0, fy) + 4 * dpr;
    const lx = clamp(fx, 0, Math.max(0, W - tw));
    ctx.fillStyle = "rgba(29,31,35,.85)";
    ctx.fillRect(lx, ly, tw, 19 * dpr);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, lx + 7 * dpr, ly + 14 * dpr);
    if (this.tool === "erase" && this.cursor && !this.candidates && !this.app.busy) {
      const r = (this.brush / 2) * dpr;
      const px = ox + this.cursor.x * k, py = oy + this.cursor.y * k;
      ctx.lineWidth = 1.5 * dpr;
      ctx.strokeStyle = "rgba(0,0,0,.85)";
      ctx.beginPath();
      ctx.arc(px, py, r, 0, Math.PI * 2);
      ctx.stroke();
      ctx.strokeStyle = "rgba(255,255,255,.95)";
      ctx.beginPath();
      ctx.arc(px, py, Math.max(1, r - 1.5 * dpr), 0, Math.PI * 2);
      ctx.stroke();
    }

    $("#op-zoom-value").textContent = `${Math.round(scale * 100)}%`;
    $("#op-size").textContent = this.world ? `Canvas ${this.world.width}×${this.world.height}` : "Empty canvas";
    const hint = $("#op-hint");
    hint.textContent = this.candidates ? "Choose a candidate (‹ › or ← →), then Accept (Enter) or Cancel (Esc)."
      : this.tool === "erase" ? "Eraser: drag over the picture to erase; put the frame over the erased part and Generate to fill it. E switches back to the frame."
        : this.world
          ? "Drag the frame partly over the picture (or erase part of it), describe the whole scene and press Generate: the empty part of the frame is filled. Drag elsewhere to pan, scroll to zoom."
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
    $("#op-undo").disabled = busy || picking || this.k === 0;
    $("#op-redo").disabled = busy || picking || this.k >= this.ops.length;
    $("#op-export").disabled = !this.world;
    $("#op-keep").disabled = !this.world || busy;
    $("#op-new").disabled = !this.world || busy || picking;
    $("#op-tool-erase").disabled = busy || picking;
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
      this.app.message({ kind: "info", title: "The frame has nothing to fill.", text: "Drag the frame partly off the picture onto the empty canvas, or erase part of the picture under it." });
      return;
    }
    if (!prompt) {
      this.app.message({ kind: "info", title: "Describe the scene.", text: "The prompt should describe the whole picture in the frame, as it should look." });
      this.prompt.focus();
      return;
    }
    if (!this.fitsBrowser(grownBounds(this, f.x, f.y, size, size))) return;
    // a frame that reaches past the canvas extends the picture (the model's outpainting method); a frame
    // inside it fills erased pixels, as an edit
    const outpaint = !this.world || f.x < this.origin.x || f.y < this.origin.y
      || f.x + size > this.origin.x + this.world.width || f.y + size > this.origin.y + this.world.height;
    const { n } = this.app.settings;
    const sent = await canvasToBlob(crop);
    const restore = await this.restorePoint();
    this.candidateFrame = f; // shown while generating, so the frame stays where it was
    this.render();
    const result = await this.app.run(this.status, `${outpaint ? "Outpainting" : "Filling the erased area"}: ${n} candidate${n > 1 ? "s" : ""}`,
      (signal, onEvent) => api.edit({ image: sent, prompt, n, size, outpaint }, signal, onEvent),
      { onPartial: (event) => this.showPartial(event) });
    this.candidateFrame = null;
    this.forming = null;
    delete this.canvas.dataset.partial;
    if (!result) {
      this.render();
      return;
    }
    const { images, seed } = result;
    const entry = await this.app.history.add({ kind: "outpaint", prompt, size, images, seed, source: sent, restore, frame: f, outpaint });
    await this.showCandidates(entry, f, 0);
    this.persist();
  }

  /** A partial image of the first candidate, drawn in the frame (under the picture, as the candidates
   *  are) while the request runs. */
  async showPartial(event) {
    if ((Number(event.image_index) || 0) !== 0) return;
    const canvas = await blobToCanvas(event.blob);
    if (!this.app.busy || !this.candidateFrame) return; // the answer came first
    this.forming = { canvas, index: Number(event.partial_image_index) || 0 };
    this.canvas.dataset.partial = String(this.forming.index); // for the end-to-end tests
    this.render();
  }

  async showCandidates(entry, frame, index) {
    this.candidates = await Promise.all(entry.images.map((blob) => blobToCanvas(blob)));
    this.candidateBlobs = entry.images;
    this.candidateEntry = entry;
    this.candidateFrame = { ...frame };
    if (!this.frameInView()) this.fit();
    this.updateButtons();
    this.pick(index);
  }

  pick(index) {
    if (!this.candidates) return;
    const count = this.candidates.length;
    this.candidateIndex = (index + count) % count;
    $("#op-cand-index").textContent = `${this.candidateIndex + 1} / ${count}`;
    this.render();
    this.persist();
  }

  async accept() {
    if (!this.candidates || this.app.busy) return;
    const f = this.candidateFrame;
    const op = { type: "fill", x: f.x, y: f.y, size: f.size, image: this.candidates[this.candidateIndex] };
    const blob = this.candidateBlobs[this.candidateIndex];
    this.dropCandidates();
    this.keepBlob(op, blob); // the session's save waits for it
    this.commit(op);
    await op.kept;
  }

  dropCandidates() {
    this.candidates = null;
    this.candidateBlobs = null;
    this.candidateEntry = null;
    this.candidateFrame = null;
  }

  cancelCandidates() {
    if (!this.candidates) return;
    this.dropCandidates();
    this.updateButtons();
    this.persist();
  }

  async exportPng() {
    if (!this.world) return;
    downloadBlob(await canvasToBlob(this.world), fileName(this.prompt.value.trim() || "canvas", `${this.world.width}x${this.world.height}`));
  }

  /** The assembled canvas as a history entry (opening it brings the canvas and its steps back). */
  async keepInHistory() {
    if (!this.world) return;
    const blob = await canvasToBlob(this.world);
    await this.app.history.add({ kind: "canvas", prompt: this.prompt.value.trim(), size: Math.max(this.world.width, this.world.height),
      width: this.world.width, height: this.world.height, images: [blob], restore: await this.restorePoint() });
    this.app.message({ kind: "info", title: "Kept in the history.", text: `The ${this.world.width}×${this.world.height} canvas; click its entry to open it again.` });
  }

  // ------------------------------------------------------------------ keys
  key(e) {
    const mod = e.ctrlKey || e.metaKey;
    if (mod && (e.key === "z" || e.key === "Z") && !e.shiftKey) this.undo();
    else if (!mod && (e.key === "e" || e.key === "E")) this.setTool(this.tool === "erase" ? "frame" : "erase");
    else if (!mod && e.key === "[") this.setBrush(this.brush / 1.2);
    else if (!mod && e.key === "]") this.setBrush(this.brush * 1.2);
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
      this.persist();
    } else if (e.key === "+" || e.key === "=") this.zoomBy(1.25);
    else if (e.key === "-") this.zoomBy(1 / 1.25);
    else if (e.key === "0") this.fit();
    else return false;
    return true;
  }
}
