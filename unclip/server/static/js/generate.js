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

  async generate() {
    const prompt = this.prompt.value.trim();
    if (!prompt) {
      this.app.message({ kind: "info", title: "Type a prompt first.", text: "Describe the image you want." });
      this.prompt.focus();
      return;
    }
    const { n, size } = this.app.settings;
    const label = `Generating ${n} image${n > 1 ? "s" : ""} (${size}×${size})`;
    const images = await this.app.run(this.status, label, (signal) => api.generate({ prompt, n, size }, signal));
    if (!images) return;
    this.show(await this.app.history.add({ kind: "generate", prompt, size, images }));
  }

  async vary(blob, prompt) {
    this.app.switchTab("generate");
    const { n, size } = this.app.settings;
    const label = `Making ${n} variation${n > 1 ? "s" : ""}`;
    const images = await this.app.run(this.status, label, (signal) => api.vary({ image: blob, n, size }, signal));
    if (!images) return;
    this.show(await this.app.history.add({ kind: "variation", prompt: prompt || "", size, images, source: blob }));
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
