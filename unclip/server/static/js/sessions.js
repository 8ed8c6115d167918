// Each tab's work in progress, saved in IndexedDB as it changes so that a reload brings it back:
// the "edit" session (versions, the eraser's mask, candidates being chosen) and the "canvas" session
// (every step on the canvas, the frame, candidates). Pictures are kept once in the blobs store and
// referenced by `blobId`; history entries reference the same ids to open a session again.

import { getBlob, putBlob } from "./store.js";

const DELAY_MS = 120; // coalesce bursts of changes (a brush stroke, arrow keys) into one write

export class Sessions {
  constructor(app, store) {
    this.app = app;
    this.store = store;
    this.timers = new Map(); // id -> timeout of a scheduled save
    this.builders = new Map(); // id -> async () => record
    this.chain = Promise.resolve(); // writes happen one after another, in order
    this.writing = 0;
    this.failed = false;
  }

  /** Save the session `id` soon; `build` makes its record when the write happens (the latest state). */
  save(id, build) {
    this.builders.set(id, build);
    clearTimeout(this.timers.get(id));
    this.timers.set(id, setTimeout(() => this.write(id), DELAY_MS));
  }

  write(id) {
    this.timers.delete(id);
    const build = this.builders.get(id);
    this.builders.delete(id);
    if (!build) return this.chain;
    this.writing++;
    this.chain = this.chain.then(async () => {
      try {
        const record = await build();
        await this.store.put("sessions", { ...record, id, saved: Date.now() });
        if (this.failed) this.app.message({ kind: "info", title: "Saved again.", text: "Your work is being saved in this browser again." });
        this.failed = false;
      } catch (e) {
        if (!this.failed) this.app.storageFailed(e, "Your work in progress is not saved");
        this.failed = true;
      } finally {
        this.writing--;
      }
    });
    return this.chain;
  }

  /** Write every scheduled save now; resolves when all are stored. */
  async flush() {
    for (const id of [...this.timers.keys()]) {
      clearTimeout(this.timers.get(id));
      this.write(id);
    }
    await this.chain;
    return !this.failed;
  }

  get pending() {
    return this.timers.size > 0 || this.writing > 0;
  }

  async load(id) {
    try {
      return (await this.store.get("sessions", id)) || null;
    } catch {
      return null;
    }
  }

  /** Keep a picture (once); its id. Throws StorageError when the browser refuses it. */
  putBlob(blob) {
    return putBlob(this.store, blob);
  }

  getBlob(id) {
    return getBlob(this.store, id);
  }

  /** Delete the pictures that no session and no history entry references. */
  async collect() {
    await this.flush();
    const used = new Set();
    const walk = (value) => {
      if (!value || typeof value !== "object" || value instanceof Blob) return;
      if (Array.isArray(value)) return value.forEach(walk);
      for (const [key, v] of Object.entries(value)) {
        if (key === "blobId" && v != null) used.add(v);
        else walk(v);
      }
    };
    walk(await this.store.all("sessions"));
    walk(this.app.history.entries.map((e) => e.restore));
    for (const key of await this.store.keys("blobs")) {
      if (!used.has(key)) await this.store.delete("blobs", key);
    }
  }
}
