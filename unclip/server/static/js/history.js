// The history: every set of results (generations, variations, edits, outpainting candidates, kept
// canvases) with its prompt, kept in this browser's IndexedDB (store.js; images as PNG Blobs) so it
// survives reloads. Edit, outpaint and canvas entries also carry what their tab needs to come back
// (`restore`: the versions or canvas steps, by blob id); clicking one opens it in that tab.

import { $, el } from "./util.js";

const MAX_ENTRIES = 500;

const KIND_LABELS = { generate: "Generate", variation: "Variations", edit: "Edit", outpaint: "Outpaint", canvas: "Canvas" };

export class History {
  /** onSelect(entry) is called when an entry is clicked; `store` is store.js's. */
  constructor(app, store, onSelect) {
    this.app = app;
    this.onSelect = onSelect;
    this.list = $("#history-list");
    this.emptyNote = $("#history-empty");
    this.entries = []; // newest first
    this.urls = [];
    this.currentId = null;
    this.store = store;
    $("#history-clear").addEventListener("click", () => this.clearAsked());
  }

  async load() {
    try {
      this.entries = (await this.store.all("history")).sort((a, b) => b.created - a.created || b.id - a.id);
    } catch {
      this.entries = [];
    }
    this.render();
    return this.entries;
  }

  /** Save {kind, prompt, size, images: [Blob], source?: Blob, restore?} and show it first. */
  async add(entry) {
    const record = { created: Date.now(), source: null, ...entry };
    let saved;
    try {
      saved = { ...record, id: await this.store.add("history", record) };
    } catch (e) {
      saved = { ...record, id: `mem-${Date.now()}` }; // quota or a closed database: keep it for this page
      this.app.storageFailed(e, "This result is not in the saved history");
    }
    this.entries.unshift(saved);
    while (this.entries.length > MAX_ENTRIES) {
      const old = this.entries.pop();
      this.store.delete("history", old.id).catch(() => {});
    }
    this.currentId = saved.id;
    this.render();
    return saved;
  }

  markCurrent(id) {
    this.currentId = id;
    for (const node of this.list.children) node.classList.toggle("current", node.dataset.id === String(id));
  }

  async clearAsked() {
    if (!this.entries.length) return;
    const ok = await this.app.confirm(`Delete all ${this.entries.length} history entries and their images from this browser?`, "Clear history");
    if (!ok) return;
    await this.store.clear("history").catch(() => {});
    await this.app.sessions.collect().catch(() => {}); // pictures only the history used
    this.entries = [];
    this.currentId = null;
    this.render();
    this.app.onHistoryCleared?.();
  }

  render() {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    this.list.replaceChildren(...this.entries.map((entry) => this.renderEntry(entry)));
    this.emptyNote.hidden = this.entries.length > 0;
    $("#history-clear").disabled = this.entries.length === 0;
  }

  byId(id) {
    return this.entries.find((e) => e.id === id) || null;
  }

  renderEntry(entry) {
    const thumb = (blob, cls) => {
      const url = URL.createObjectURL(blob);
      this.urls.push(url);
      return el("img", { src: url, alt: "", loading: "lazy", class: cls });
    };
    // a variation shows the picture it came from first, marked as the source
    const source = entry.kind === "variation" && entry.source ? [thumb(entry.source, "source")] : [];
    const thumbs = [...source, ...entry.images.slice(0, 4 - source.length).map((blob) => thumb(blob))];
    const when = new Date(entry.created);
    const time = when.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    return el("button", {
      type: "button",
      class: `history-entry${entry.id === this.currentId ? " current" : ""}`,
      dataset: { id: String(entry.id), kind: entry.kind },
      title: entry.prompt || KIND_LABELS[entry.kind],
      onclick: () => {
        this.markCurrent(entry.id);
        this.onSelect(entry);
      },
    },
    el("span", { class: "history-prompt" }, entry.prompt || (entry.kind === "variation" ? "Variations of an image" : "(no prompt)")),
    el("span", { class: "history-meta" },
      el("span", { class: "kind" }, KIND_LABELS[entry.kind] || entry.kind),
      el("span", {}, entry.kind === "canvas" ? `${entry.width}×${entry.height}px` : `${entry.images.length} × ${entry.size}px`),
      el("span", {}, time)),
    el("span", { class: "history-thumbs" }, thumbs));
  }
}

export { KIND_LABELS };
