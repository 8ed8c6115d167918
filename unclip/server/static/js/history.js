// The history: every set of results (generations, variations, edits, outpainting candidates) with its
// prompt, kept in this browser's IndexedDB (images as PNG Blobs) so it survives reloads.

import { $, el } from "./util.js";

const DB_NAME = "unclip-editor";
const STORE = "history";
const MAX_ENTRIES = 500;

const KIND_LABELS = { generate: "Generate", variation: "Variations", edit: "Edit", outpaint: "Outpaint" };

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

class IdbStore {
  static async open() {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
    };
    const store = new IdbStore();
    store.db = await promisify(request);
    return store;
  }

  tx(mode) {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }

  async add(entry) {
    const id = await promisify(this.tx("readwrite").add(entry));
    return { ...entry, id };
  }

  async all() {
    return promisify(this.tx("readonly").getAll());
  }

  async delete(id) {
    return promisify(this.tx("readwrite").delete(id));
  }

  async clear() {
    return promisify(this.tx("readwrite").clear());
  }
}

class MemoryStore {
  constructor() {
    this.entries = [];
    this.next = 1;
  }

  async add(entry) {
    const saved = { ...entry, id: this.next++ };
    this.entries.push(saved);
    return saved;
  }

  async all() {
    return [...this.entries];
  }

  async delete(id) {
    this.entries = this.entries.filter((e) => e.id !== id);
  }

  async clear() {
    this.entries = [];
  }
}

export class History {
  /** onSelect(entry) is called when an entry is clicked. */
  constructor(app, onSelect) {
    this.app = app;
    this.onSelect = onSelect;
    this.list = $("#history-list");
    this.emptyNote = $("#history-empty");
    this.entries = []; // newest first
    this.urls = [];
    this.currentId = null;
    this.persistent = true;
    $("#history-clear").addEventListener("click", () => this.clearAsked());
  }

  async load() {
    try {
      this.store = await IdbStore.open();
    } catch (e) {
      this.persistent = false;
      this.store = new MemoryStore();
      this.app.message({ kind: "info", title: "History is not saved", text: `This browser refused IndexedDB (${e?.message || e}); results last until the page is closed.` });
    }
    try {
      this.entries = (await this.store.all()).sort((a, b) => b.created - a.created || b.id - a.id);
    } catch {
      this.entries = [];
    }
    this.render();
    return this.entries;
  }

  /** Save {kind, prompt, size, images: [Blob], source?: Blob} and show it first. */
  async add(entry) {
    const record = { created: Date.now(), source: null, ...entry };
    let saved;
    try {
      saved = await this.store.add(record);
    } catch (e) {
      saved = { ...record, id: `mem-${Date.now()}` }; // quota or a closed database: keep it for this page
      this.app.message({ kind: "info", title: "Could not save to the history", text: String(e?.message || e) });
    }
    this.entries.unshift(saved);
    while (this.entries.length > MAX_ENTRIES) {
      const old = this.entries.pop();
      this.store.delete(old.id).catch(() => {});
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
    await this.store.clear().catch(() => {});
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

  renderEntry(entry) {
    const thumbs = entry.images.slice(0, 4).map((blob) => {
      const url = URL.createObjectURL(blob);
      this.urls.push(url);
      return el("img", { src: url, alt: "", loading: "lazy" });
    });
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
      el("span", {}, `${entry.images.length} × ${entry.size}px`),
      el("span", {}, time)),
    el("span", { class: "history-thumbs" }, thumbs));
  }
}

export { KIND_LABELS };
