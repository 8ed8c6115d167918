// The Generate tab: a prompt makes n images; each can be opened, downloaded, varied, edited or outpainted.

import * as api from "./api.js";
import { KIND_LABELS } from "./history.js";
import { $, autoGrow, downloadBlob, el, fileName, submitOnEnter } from "./util.js";

export class GenerateTab {
  constructor(app) {
    this.app = app;
    this.form = $("#gen-form");
    this.prompt = $("#gen-prompt");
    this.submit = $("#gen-submit");
    this.grid = $("#gen-results");
    this.status = $("#gen-status");
    this.seed = $("#gen-seed");
    $("#gen-reuse-seed").addEventListener("click", () => {
      if (this.entry?.seed == null) return;
      this.seed.value = String(this.entry.seed);
      this.prompt.focus();
    });
    this.entry = null;
    this.urls = [];
    this.fitPrompt = autoGrow(this.prompt);
    submitOnEnter(this.prompt);
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.generate();
    });
  }

  updateButtons() {
    const busy = this.app.busy;
    this.submit.disabled = busy;
    for (const button of this.grid.querySelectorAll("button[data-needs-idle]")) button.disabled = busy;
  }

  /** The seed field: null when empty (the request gets a random seed), undefined when not a valid seed. */
  seedValue() {
    const text = this.seed.value.trim();
    if (!text) return null;
    const value = Number(text);
    return /^\d+$/.test(text) && Number.isSafeInteger(value) ? value : undefined;
  }

  async generate() {
    const prompt = this.prompt.value.trim();
    if (!prompt) {
      this.app.message({ kind: "info", title: "Type a prompt first.", text: "Describe the image you want." });
      this.prompt.focus();
      return;
    }
    const seed = this.seedValue();
    if (seed === undefined) {
      this.app.message({ kind: "error", title: "The seed must be a whole number.", text: `0 to ${Number.MAX_SAFE_INTEGER}, or empty for a random one.` });
      this.seed.focus();
      return;
    }
    const { n, size } = this.app.settings;
    const label = `Generating ${n} image${n > 1 ? "s" : ""} (${size}×${size})`;
    const result = await this.app.run(this.status, label,
      (signal, onEvent) => api.generate({ prompt, n, size, seed }, signal, onEvent), this.partials(n));
    if (!result) return;
    this.show(await this.app.history.add({ kind: "generate", prompt, size, images: result.images, seed: result.seed }));
  }

  async vary(blob, prompt) {
    this.app.switchTab("generate");
    const { n, size } = this.app.settings;
    const label = `Making ${n} variation${n > 1 ? "s" : ""}`;
    const result = await this.app.run(this.status, label,
      (signal, onEvent) => api.vary({ image: blob, n, size }, signal, onEvent), this.partials(n));
    if (!result) return;
    this.show(await this.app.history.add({ kind: "variation", prompt: prompt || "", size, images: result.images, seed: result.seed, source: blob }));
  }

  /** Partial images fill the grid where the results will appear (drawn on canvases: the grid's <img>s are
   *  the results); the grid shows its entry again when the request ends (the results, or what was there
   *  before a failure, refusal or cancel). */
  partials(n) {
    let figures = null;
    let ended = false;
    return {
      onPartial: async (event) => {
        const bitmap = await createImageBitmap(event.blob);
        if (ended) return;
        if (!figures) {
          figures = Array.from({ length: n }, (_, i) => el("figure", { class: "result partial", dataset: { index: String(i) } }));
          $("#gen-empty").hidden = true;
          this.grid.className = `results partials${n === 4 ? " n4" : ""}`;
          this.grid.replaceChildren(...figures);
        }
        const figure = figures[Number(event.image_index) || 0];
        if (!figure) return;
        const canvas = el("canvas", { class: "partial-image", width: bitmap.width, height: bitmap.height,
          "aria-label": `partial image ${Number(event.image_index) + 1}` });
        canvas.getContext("2d").drawImage(bitmap, 0, 0);
        bitmap.close();
        figure.replaceChildren(canvas);
        figure.dataset.partialIndex = String(event.partial_image_index);
      },
      onEnd: () => {
        ended = true;
        if (figures) this.render();
      },
    };
  }

  clear() {
    this.entry = null;
    this.render();
  }

  /** Show a history entry's images in the grid. */
  show(entry) {
    this.entry = entry;
    this.app.history.markCurrent(entry.id);
    if (entry.kind === "generate" && !this.prompt.value) {
      this.prompt.value = entry.prompt;
      this.fitPrompt();
    }
    this.render();
  }

  render() {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    const entry = this.entry;
    $("#gen-empty").hidden = !!entry;
    $("#gen-head").hidden = !entry;
    if (!entry) {
      this.grid.replaceChildren();
      return;
    }
    const kind = KIND_LABELS[entry.kind] || entry.kind;
    $("#gen-title").textContent = entry.kind === "generate" ? entry.prompt : `${kind}${entry.prompt ? ": " + entry.prompt : ""}`;
    $("#gen-meta").textContent = `${entry.images.length} × ${entry.size}×${entry.size}`;
    $("#gen-seed-used").textContent = entry.seed == null ? "" : `seed ${entry.seed}`;
    $("#gen-reuse-seed").hidden = entry.seed == null;
    this.grid.className = `results${entry.images.length === 4 ? " n4" : ""}`;
    this.grid.replaceChildren(...entry.images.map((blob, i) => this.card(entry, blob, i)));
    this.updateButtons();
  }

  card(entry, blob, index) {
    const url = URL.createObjectURL(blob);
    this.urls.push(url);
    const name = fileName(entry.prompt, `${entry.id}-${index + 1}`);
    const open = () => this.app.lightbox(blob, entry.prompt || "Variation", this.actions(entry, blob, name));
    const image = el("img", { src: url, alt: `${entry.prompt || "result"} (${index + 1})`, onclick: open });
    const button = (label, onclick, needsIdle = false) =>
      el("button", { type: "button", onclick, dataset: needsIdle ? { needsIdle: "1", action: label } : { action: label } }, label);
    return el("figure", { class: "result", dataset: { index: String(index) } },
      image,
      el("figcaption", { class: "result-actions" },
        button("Open", open),
        button("Download", () => downloadBlob(blob, name)),
        button("Variations", () => this.vary(blob, entry.prompt), true),
        button("Edit", () => this.app.tabs.edit.loadResult(blob, entry.prompt), true),
        button("Outpaint", () => this.app.tabs.outpaint.loadResult(blob, entry.prompt), true)));
  }

  actions(entry, blob, name) {
    return [
      { label: "Download", onclick: () => downloadBlob(blob, name), keepOpen: true },
      { label: "Variations", onclick: () => this.vary(blob, entry.prompt) },
      { label: "Edit", onclick: () => this.app.tabs.edit.loadResult(blob, entry.prompt) },
      { label: "Outpaint", onclick: () => this.app.tabs.outpaint.loadResult(blob, entry.prompt) },
    ];
  }
}
