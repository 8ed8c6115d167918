// The Edit tab (inpainting): upload (cropped to a square), erase with a brush, describe, choose a result.
//
// State: `image` (a canvas, never changed once made: a new picture is a new canvas) and `mask` (a canvas
// of the same size, opaque where erased). The request's image is the picture with every erased pixel
// made fully transparent; all other pixels are sent exactly as they are, and the server keeps them.
//
// The session (versions, the current one, the mask, candidates being chosen, the prompt) is saved in
// IndexedDB as it changes (sessions.js) and comes back after a reload.

import * as api from "./api.js";
import { cropToSquare } from "./crop.js";
import {
  $, autoGrow, blobToCanvas, canvasToBlob, clamp, copyCanvas, ctx2d, downloadBlob, el, fileName, newCanvas, submitOnEnter,
} from "./util.js";

const UNDO_LIMIT = 40;
const SIZES = [256, 512, 1024];
const SESSION = "edit";

export class EditTab {
  constructor(app) {
    this.app = app;
    this.canvas = $("#edit-canvas");
    this.ctx = this.canvas.getContext("2d");
    this.prompt = $("#edit-prompt");
    this.status = $("#edit-status");
    this.image = null;
    // canvases that hold a server result unchanged -> the PNG the server sent, which carries the
    // provenance (C2PA manifest, watermark) that re-encoding a canvas would drop
    this.serverBytes = new WeakMap();
    this.mask = null;
    this.undoStack = [];
    this.redoStack = [];
    this.versions = []; // [{canvas, thumb, label, blob, blobId}]: every picture this tab has had
    this.candidates = null; // [{canvas, url, blob}]
    this.candidateEntry = null; // the history entry the candidates belong to
    this.candidateIndex = 0;
    this.cursor = null;
    this.stroke = null;
    this.brush = Number(localStorage.getItem("unclip.brush")) || 40; // on-screen diameter, CSS px
    this.setBrush(this.brush);
    autoGrow(this.prompt);
    submitOnEnter(this.prompt);

    $("#edit-file").addEventListener("change", (e) => {
      const file = e.target.files?.[0];
      e.target.value = "";
      if (file) this.upload(file);
    });
    $("#edit-brush").addEventListener("input", (e) => this.setBrush(Number(e.target.value)));
    $("#edit-undo").addEventListener("click", () => this.undo());
    $("#edit-redo").addEventListener("click", () => this.redo());
    $("#edit-clear-mask").addEventListener("click", () => this.clearMask());
    $("#edit-download").addEventListener("click", () => this.download());
    $("#edit-keep").addEventListener("click", () => this.keep());
    $("#edit-discard").addEventListener("click", () => this.discard());
    $("#edit-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.generate();
    });
    this.canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    this.canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    this.canvas.addEventListener("pointerup", () => this.pointerUp());
    this.canvas.addEventListener("pointercancel", () => this.pointerUp());
    this.canvas.addEventListener("pointerleave", () => {
      this.cursor = null;
      this.render();
    });
    this.installDrop();
    this.updateButtons();
  }

  // ------------------------------------------------------------------ loading pictures
  async upload(file) {
    if (this.app.busy) return;
    let source;
    try {
      source = await blobToCanvas(file);
    } catch (e) {
      this.app.message({ kind: "error", title: "Could not open the image.", text: e.message });
      return;
    }
    const cropped = await cropToSquare(source, (side) => this.sizeFor(side));
    if (cropped) await this.setPicture(cropped, "Upload");
  }

  /** The size a square crop of `side` px is edited at: the Settings size, but never larger than the crop
   *  itself (a 512 px photo stays 512, not blown up to 1024) nor than the server makes; at least 256. */
  sizeFor(side) {
    const fits = SIZES.filter((s) => s <= Math.min(this.app.settings.size, this.app.maxSize));
    const notLarger = fits.filter((s) => s <= side);
    return notLarger.length ? notLarger[notLarger.length - 1] : fits[0] || SIZES[0];
  }

  /** A result from another tab: square already, edited at its own size. */
  async loadResult(blob, prompt) {
    if (this.app.busy) return;
    const canvas = await blobToCanvas(blob);
    this.app.switchTab("edit");
    if (canvas.width !== canvas.height || !SIZES.includes(canvas.width)) {
      const cropped = await cropToSquare(canvas, (side) => this.sizeFor(side));
      if (!cropped) return;
      await this.setPicture(cropped, "Import");
    } else {
      this.serverBytes.set(canvas, blob); // unchanged: its download is the server's own PNG
      await this.setPicture(canvas, "Import");
    }
    if (prompt && !this.prompt.value) this.prompt.value = prompt;
  }

  async setPicture(canvas, label) {
    if (this.image) this.pushUndo();
    this.image = canvas;
    this.mask = newCanvas(canvas.width, canvas.height);
    this.dropCandidates();
    this.canvas.width = canvas.width;
    this.canvas.height = canvas.height;
    const version = this.addVersion(canvas, label, this.serverBytes.get(canvas) || await canvasToBlob(canvas));
    this.render();
    this.updateButtons();
    this.persist(); // the save waits for the picture to be stored
    await this.keepBlob(version);
  }

  addVersion(canvas, label, blob, blobId = null) {
    const thumb = newCanvas(120, 120);
    const ctx = thumb.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(canvas, 0, 0, 120, 120);
    const version = { canvas, thumb, label, blob, blobId };
    this.versions.push(version);
    this.renderVersions();
    return version;
  }

  /** Store a version's picture once (its id is what the session and history entries refer to). */
  keepBlob(version) {
    if (version.blobId != null) return Promise.resolve(version.blobId);
    version.kept ||= this.app.sessions.putBlob(version.blob).then((id) => {
      version.blobId = id;
      return id;
    }, (e) => {
      this.app.storageFailed(e, "This version is not saved");
      return null;
    });
    return version.kept;
  }

  currentVersion() {
    return this.versions.findIndex((v) => v.canvas === this.image);
  }

  // ------------------------------------------------------------------ the saved session
  /** Save the session soon (after any change). */
  persist() {
    this.app.sessions.save(SESSION, async () => {
      await Promise.all(this.versions.map((v) => this.keepBlob(v)));
      return this.sessionRecord();
    });
  }

  async sessionRecord() {
    return ({
      versions: this.versions.filter((v) => v.blobId != null).map((v) => ({ blobId: v.blobId, label: v.label })),
      current: this.currentVersion(),
      mask: this.hasMask() ? await canvasToBlob(this.mask) : null,
      prompt: this.prompt.value,
      candidates: this.candidates && this.candidateEntry ? { entryId: this.candidateEntry.id, index: this.candidateIndex } : null,
    });
  }

  /** What a history entry needs to open this session again as it is now (blob ids, the mask). */
  async restorePoint() {
    await Promise.all(this.versions.map((v) => this.keepBlob(v)));
    return {
      versions: this.versions.map((v) => ({ blobId: v.blobId, label: v.label })),
      current: this.currentVersion(),
      mask: this.hasMask() ? await canvasToBlob(this.mask) : null,
    };
  }

  /** Bring back the saved session (at start). */
  async restoreSession() {
    const saved = await this.app.sessions.load(SESSION);
    if (!saved?.versions?.length) return false;
    await this.open(saved, saved.candidates ? this.app.history.byId(saved.candidates.entryId) : null,
      saved.candidates?.index || 0);
    if (saved.prompt) this.prompt.value = saved.prompt;
    return true;
  }

  /** Open {versions: [{blobId, label}], current, mask} (a saved session or a history entry's restore
   *  point), with `entry`'s images as candidates to choose from. When the versions are those this tab
   *  already has (the same session), it goes to that version (undoable); otherwise the tab is replaced. */
  async open(point, entry = null, index = 0) {
    const ids = point.versions.map((v) => v.blobId);
    const same = ids.length <= this.versions.length && ids.every((id, i) => this.versions[i].blobId === id);
    if (same) {
      this.dropCandidates();
      if (this.image) this.pushUndo();
      this.image = this.versions[point.current >= 0 ? point.current : ids.length - 1].canvas;
    } else {
      const versions = [];
      for (const v of point.versions) {
        const blob = await this.app.sessions.getBlob(v.blobId);
        if (blob) versions.push({ ...v, blob, canvas: await blobToCanvas(blob) });
      }
      if (!versions.length) return false;
      this.dropCandidates();
      this.versions = [];
      this.undoStack = [];
      this.redoStack = [];
      for (const v of versions) {
        this.addVersion(v.canvas, v.label, v.blob, v.blobId);
        this.serverBytes.set(v.canvas, v.blob);
      }
      this.image = this.versions[clamp(point.current, 0, versions.length - 1)]?.canvas || this.versions.at(-1).canvas;
    }
    this.mask = point.mask ? await blobToCanvas(point.mask) : newCanvas(this.image.width, this.image.height);
    this.canvas.width = this.canvas.height = this.image.width;
    this.renderVersions();
    if (entry) await this.showCandidates(entry, index);
    else this.renderCandidates();
    this.persist();
    return true;
  }

  /** A history entry of this tab, clicked. */
  async openEntry(entry) {
    if (this.app.busy) return;
    this.app.switchTab("edit");
    if (!entry.restore) { // an entry from before sessions were kept: its request's picture, as sent
      await this.setPicture(await blobToCanvas(entry.source), "From history");
      await this.showCandidates(entry, 0);
    } else {
      await this.open(entry.restore, entry, 0);
    }
    if (entry.prompt) this.prompt.value = entry.prompt;
    this.persist();
  }

  renderVersions() {
    const list = $("#edit-versions");
    list.replaceChildren(...this.versions.map((v, i) => {
      v.thumb.className = "thumb";
      v.thumb.setAttribute("aria-label", `Version ${i + 1}`);
      return el("button", {
        type: "button",
        class: `thumb-button${v.canvas === this.image ? " current" : ""}`,
        title: `Version ${i + 1}: ${v.label}`,
        dataset: { version: String(i) },
        onclick: () => this.restoreVersion(i),
      }, v.thumb, el("span", { class: "thumb-label" }, `${i + 1}. ${v.label}`));
    }));
    list.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  restoreVersion(index) {
    const version = this.versions[index];
    if (!version || this.app.busy || this.candidates || version.canvas === this.image) return;
    this.pushUndo();
    this.image = version.canvas;
    this.mask = newCanvas(this.image.width, this.image.height);
    this.canvas.width = this.canvas.height = this.image.width;
    this.render();
    this.renderVersions();
    this.updateButtons();
    this.persist();
  }

  // ------------------------------------------------------------------ undo / redo
  snapshot() {
    return { image: this.image, mask: copyCanvas(this.mask) };
  }

  pushUndo() {
    if (!this.image) return;
    this.undoStack.push(this.snapshot());
    if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
    this.redoStack = [];
  }

  restore(state) {
    this.image = state.image;
    this.mask = state.mask;
    this.canvas.width = this.canvas.height = this.image.width;
    this.render();
    this.renderVersions();
    this.updateButtons();
    this.persist();
  }

  undo() {
    if (this.app.busy || this.candidates || this.stroke || !this.undoStack.length) return;
    this.redoStack.push(this.snapshot());
    this.restore(this.undoStack.pop());
  }

  redo() {
    if (this.app.busy || this.candidates || this.stroke || !this.redoStack.length) return;
    this.undoStack.push(this.snapshot());
    this.restore(this.redoStack.pop());
  }

  clearMask() {
    if (!this.image || !this.hasMask()) return;
    this.pushUndo();
    this.mask = newCanvas(this.image.width, this.image.height);
    this.render();
    this.updateButtons();
    this.persist();
  }

  hasMask() {
    if (!this.mask) return false;
    const data = ctx2d(this.mask).getImageData(0, 0, this.mask.width, this.mask.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i]) return true;
    return false;
  }

  // ------------------------------------------------------------------ brush
  setBrush(size) {
    this.brush = clamp(Math.round(size), 4, 160);
    $("#edit-brush").value = String(this.brush);
    $("#edit-brush-value").textContent = `${this.brush} px`;
    try {
      localStorage.setItem("unclip.brush", String(this.brush));
    } catch { /* ignore */ }
    this.render();
  }

  growBrush(factor) {
    this.setBrush(factor > 1 ? Math.max(this.brush + 1, this.brush * factor) : Math.min(this.brush - 1, this.brush * factor));
  }

  /** Pointer position in image pixels, and the brush radius in image pixels. */
  toImage(e) {
    const rect = this.canvas.getBoundingClientRect();
    const scale = this.canvas.width / rect.width;
    return { x: (e.clientX - rect.left) * scale, y: (e.clientY - rect.top) * scale, r: (this.brush / 2) * scale };
  }

  canPaint() {
    return this.image && !this.candidates && !this.app.busy;
  }

  pointerDown(e) {
    if (!this.canPaint() || e.button !== 0) return;
    this.canvas.setPointerCapture(e.pointerId);
    this.pushUndo();
    const p = this.toImage(e);
    this.stroke = p;
    this.paint(p, p);
  }

  pointerMove(e) {
    const p = this.toImage(e);
    this.cursor = p;
    if (this.stroke) {
      this.paint(this.stroke, p);
      this.stroke = p;
    }
    this.render();
  }

  pointerUp() {
    if (!this.stroke) return;
    this.stroke = null;
    this.updateButtons();
    this.persist();
  }

  paint(from, to) {
    const ctx = ctx2d(this.mask);
    ctx.strokeStyle = ctx.fillStyle = "#000";
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.lineWidth = to.r * 2;
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + 0.01, to.y);
    ctx.stroke();
    this.render();
  }

  // ------------------------------------------------------------------ drawing
  render() {
    const empty = !this.image;
    this.canvas.hidden = empty;
    $("#edit-empty").hidden = !empty;
    const badge = $("#edit-preview-badge");
    badge.hidden = !this.candidates && !this.forming;
    if (empty) return;
    const ctx = this.ctx;
    ctx.globalCompositeOperation = "source-over";
    ctx.imageSmoothingEnabled = true;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.classList.toggle("previewing", !!this.candidates || !!this.forming);
    if (this.forming) {
      ctx.drawImage(this.forming.canvas, 0, 0, this.canvas.width, this.canvas.height);
      badge.textContent = `Forming… (preview ${this.forming.index + 1})`;
      return;
    }
    if (this.candidates) {
      const c = this.candidates[this.candidateIndex].canvas;
      ctx.drawImage(c, 0, 0, this.canvas.width, this.canvas.height);
      badge.textContent = `Result ${this.candidateIndex + 1} of ${this.candidates.length}`;
      return;
    }
    ctx.drawImage(this.image, 0, 0);
    ctx.globalCompositeOperation = "destination-out";
    ctx.drawImage(this.mask, 0, 0);
    ctx.globalCompositeOperation = "source-over";
    if (this.cursor && !this.app.busy) {
      const { x, y, r } = this.cursor;
      const px = this.canvas.width / this.canvas.getBoundingClientRect().width;
      ctx.lineWidth = 1.5 * px;
      ctx.strokeStyle = "rgba(0,0,0,.85)";
      ctx.beginPath();
      ctx.arc(x, y, r, 0, Math.PI * 2);
      ctx.stroke();
      ctx.strokeStyle = "rgba(255,255,255,.95)";
      ctx.beginPath();
      ctx.arc(x, y, Math.max(1, r - 1.5 * px), 0, Math.PI * 2);
      ctx.stroke();
    }
  }

  updateButtons() {
    const busy = this.app.busy;
    const picking = !!this.candidates;
    $("#edit-upload-label").classList.toggle("disabled", busy || picking);
    $("#edit-file").disabled = busy || picking;
    $("#edit-undo").disabled = busy || picking || !this.undoStack.length;
    $("#edit-redo").disabled = busy || picking || !this.redoStack.length;
    $("#edit-clear-mask").disabled = busy || picking || !this.image;
    $("#edit-download").disabled = !this.image;
    $("#edit-download").textContent = picking ? "Download result" : "Download PNG";
    $("#edit-submit").disabled = busy || picking || !this.image;
    $("#edit-keep").disabled = busy;
    $("#edit-discard").disabled = busy;
    $("#edit-brush").disabled = busy || picking || !this.image;
  }

  // ------------------------------------------------------------------ generating
  /** The picture with erased pixels fully transparent; `holes` counts them. */
  maskedImage() {
    const { width, height } = this.image;
    const out = newCanvas(width, height);
    const ctx = ctx2d(out);
    ctx.drawImage(this.image, 0, 0);
    const picture = ctx.getImageData(0, 0, width, height);
    const mask = ctx2d(this.mask).getImageData(0, 0, width, height).data;
    const px = picture.data;
    let holes = 0;
    for (let i = 3; i < px.length; i += 4) {
      if (mask[i] > 0) px[i] = 0; // any touch of the brush erases the pixel completely
      if (px[i] === 0) holes++;
    }
    ctx.putImageData(picture, 0, 0);
    return { canvas: out, holes };
  }

  async generate() {
    if (!this.image || this.app.busy || this.candidates) return;
    const prompt = this.prompt.value.trim();
    const { canvas, holes } = this.maskedImage();
    if (!holes) {
      this.app.message({ kind: "info", title: "Nothing is erased yet.", text: "Use the eraser on the picture to mark the area to regenerate." });
      return;
    }
    if (!prompt) {
      this.app.message({ kind: "info", title: "Describe the edited picture.", text: "The prompt should describe the whole picture as it should look, not only the erased part." });
      this.prompt.focus();
      return;
    }
    const size = this.image.width;
    if (size > this.app.maxSize) {
      this.app.message({ kind: "error", title: "This picture is too large for the server.", text: `It is ${size}×${size}; the server makes at most ${this.app.maxSize}×${this.app.maxSize}.` });
      return;
    }
    const { n } = this.app.settings;
    const sent = await canvasToBlob(canvas);
    const restore = await this.restorePoint();
    const result = await this.app.run(this.status, `Editing: ${n} candidate${n > 1 ? "s" : ""}`,
      (signal, onEvent) => api.edit({ image: sent, prompt, n, size }, signal, onEvent),
      { onPartial: (event) => this.showPartial(event) });
    this.forming = null;
    delete this.canvas.dataset.partial;
    if (!result) {
      this.render();
      return;
    }
    const { images, seed } = result;
    const entry = await this.app.history.add({ kind: "edit", prompt, size, images, seed, source: sent, restore });
    await this.showCandidates(entry, 0);
    this.persist();
  }

  /** A partial image of the first candidate, drawn on the picture (where the result will appear)
   *  while the request runs. */
  async showPartial(event) {
    if ((Number(event.image_index) || 0) !== 0) return;
    const canvas = await blobToCanvas(event.blob);
    if (!this.app.busy) return; // the answer came first
    this.forming = { canvas, index: Number(event.partial_image_index) || 0 };
    this.canvas.dataset.partial = String(this.forming.index); // for the end-to-end tests
    this.render();
  }

  /** Show a history entry's images as the candidates to choose from. */
  async showCandidates(entry, index) {
    const candidates = [];
    for (const blob of entry.images) {
      const canvas = await blobToCanvas(blob);
      this.serverBytes.set(canvas, blob);
      candidates.push({ canvas, blob, url: URL.createObjectURL(blob) });
    }
    this.dropCandidates();
    this.candidates = candidates;
    this.candidateEntry = entry;
    this.candidateIndex = clamp(index, 0, candidates.length - 1);
    this.renderCandidates();
  }

  renderCandidates() {
    const box = $("#edit-candidates");
    box.hidden = !this.candidates;
    if (this.candidates) {
      $("#edit-candidate-list").replaceChildren(...this.candidates.map((c, i) => el("button", {
        type: "button",
        class: `thumb-button${i === this.candidateIndex ? " current" : ""}`,
        title: `Result ${i + 1}`,
        dataset: { candidate: String(i) },
        onclick: () => this.pick(i),
      }, el("img", { src: c.url, alt: `Result ${i + 1}` }))));
    }
    this.render();
    this.updateButtons();
  }

  pick(index) {
    if (!this.candidates) return;
    this.candidateIndex = (index + this.candidates.length) % this.candidates.length;
    this.renderCandidates();
    this.persist();
  }

  async keep() {
    if (!this.candidates || this.app.busy) return;
    const chosen = this.candidates[this.candidateIndex].canvas;
    this.dropCandidates();
    await this.setPicture(chosen, "Edit");
  }

  discard() {
    this.dropCandidates();
    this.render();
    this.updateButtons();
    this.persist();
  }

  dropCandidates() {
    if (this.candidates) for (const c of this.candidates) URL.revokeObjectURL(c.url);
    this.candidates = null;
    this.candidateEntry = null;
    this.renderCandidates();
  }

  /** Exactly the picture on screen: the candidate shown (the server's PNG), or the current version. */
  async download() {
    if (!this.image) return;
    const name = this.prompt.value.trim() || "edit";
    if (this.candidates) {
      const c = this.candidates[this.candidateIndex];
      downloadBlob(c.blob, fileName(name, `result-${this.candidateIndex + 1}`));
      return;
    }
    const index = this.currentVersion();
    const blob = this.serverBytes.get(this.image) || this.versions[index]?.blob || await canvasToBlob(this.image);
    downloadBlob(blob, fileName(name, `v${index + 1}`));
  }

  // ------------------------------------------------------------------ keys and drops
  /** Keys while this tab is shown; returns true when handled. */
  key(e) {
    const mod = e.ctrlKey || e.metaKey;
    if (!mod && e.key === "[") this.growBrush(1 / 1.2);
    else if (!mod && e.key === "]") this.growBrush(1.2);
    else if (mod && (e.key === "z" || e.key === "Z") && !e.shiftKey) this.undo();
    else if (mod && ((e.key === "z" || e.key === "Z") && e.shiftKey || e.key === "y")) this.redo();
    else if (this.candidates && e.key === "ArrowLeft") this.pick(this.candidateIndex - 1);
    else if (this.candidates && e.key === "ArrowRight") this.pick(this.candidateIndex + 1);
    else if (this.candidates && e.key === "Enter") this.keep();
    else if (this.candidates && e.key === "Escape") this.discard();
    else return false;
    return true;
  }

  installDrop() {
    const stage = $("#edit-stage");
    stage.addEventListener("dragover", (e) => {
      e.preventDefault();
      stage.classList.add("over");
    });
    stage.addEventListener("dragleave", () => stage.classList.remove("over"));
    stage.addEventListener("drop", (e) => {
      e.preventDefault();
      stage.classList.remove("over");
      const file = e.dataTransfer?.files?.[0];
      if (file && !this.candidates) this.upload(file);
    });
    this.prompt.addEventListener("change", () => {
      if (this.image) this.persist();
    });
  }
}
