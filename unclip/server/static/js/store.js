// The browser's storage for the editor: one IndexedDB database with three object stores.
//   history   every result set (autoIncrement id)
//   sessions  each tab's work in progress ("edit", "canvas"), rewritten as it changes
//   blobs     pictures referenced by id from sessions and history entries (never changed once written)
// Images are stored as Blobs. Without IndexedDB (some private windows) a memory store stands in.

const DB_NAME = "unclip-editor";
const VERSION = 2;
const STORES = {
  history: { keyPath: "id", autoIncrement: true },
  sessions: { keyPath: "id" },
  blobs: { keyPath: "id", autoIncrement: true },
};

export function isQuotaError(e) {
  return e?.name === "QuotaExceededError" || /quota/i.test(String(e?.message || ""));
}

/** A failed write: says whether the browser's storage for this site is full. */
export class StorageError extends Error {
  constructor(cause) {
    super(isQuotaError(cause)
      ? "The browser's storage for this site is full, so this was not saved. Clear the history (or free space "
        + "in the browser's site settings); your work stays on screen until the page closes."
      : `The browser did not save it (${cause?.name || "error"}: ${cause?.message || cause}).`);
    this.name = "StorageError";
    this.quota = isQuotaError(cause);
    this.cause = cause;
  }
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Resolves once the transaction is committed (a quota error can come at commit, not with the request). */
function committed(tx, result) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(result.value);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException("The transaction was aborted.", "AbortError"));
  });
}

class IdbStore {
  static async open() {
    const request = indexedDB.open(DB_NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const [name, options] of Object.entries(STORES)) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, options);
      }
    };
    const store = new IdbStore();
    store.db = await done(request);
    store.persistent = true;
    return store;
  }

  async write(name, op) {
    try {
      const tx = this.db.transaction(name, "readwrite");
      const result = {};
      const finished = committed(tx, result);
      result.value = await done(op(tx.objectStore(name)));
      return await finished;
    } catch (e) {
      throw new StorageError(e);
    }
  }

  async read(name, op) {
    return done(op(this.db.transaction(name, "readonly").objectStore(name)));
  }

  put(name, value) { return this.write(name, (s) => s.put(value)); }
  add(name, value) { return this.write(name, (s) => s.add(value)); }
  delete(name, key) { return this.write(name, (s) => s.delete(key)); }
  clear(name) { return this.write(name, (s) => s.clear()); }
  get(name, key) { return this.read(name, (s) => s.get(key)); }
  all(name) { return this.read(name, (s) => s.getAll()); }
  keys(name) { return this.read(name, (s) => s.getAllKeys()); }
}

class MemoryStore {
  constructor() {
    this.maps = Object.fromEntries(Object.keys(STORES).map((name) => [name, new Map()]));
    this.next = 1;
    this.persistent = false;
  }

  async put(name, value) {
    const key = value.id ?? this.next++;
    this.maps[name].set(key, { ...value, id: key });
    return key;
  }

  add(name, value) { return this.put(name, { ...value, id: undefined }); }
  async delete(name, key) { this.maps[name].delete(key); }
  async clear(name) { this.maps[name].clear(); }
  async get(name, key) { return this.maps[name].get(key); }
  async all(name) { return [...this.maps[name].values()]; }
  async keys(name) { return [...this.maps[name].keys()]; }
}

/** The store, or a memory store and the reason IndexedDB could not be used. */
export async function openStore() {
  try {
    return { store: await IdbStore.open(), problem: null };
  } catch (e) {
    return { store: new MemoryStore(), problem: e };
  }
}

/** A picture kept once and referenced by id: {id, blob}. */
export async function putBlob(store, blob) {
  return store.add("blobs", { blob });
}

export async function getBlob(store, id) {
  const record = await store.get("blobs", id);
  return record?.blob ?? null;
}
