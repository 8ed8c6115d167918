// The unclip editor: wires the tabs, settings, API key, history, busy state and keyboard shortcuts.
// Plain ES modules served by `unclip serve` at /; no build step.

import * as api from "./api.js";
import { EditTab } from "./edit.js";
import { GenerateTab } from "./generate.js";
import { History } from "./history.js";
import { OutpaintTab } from "./outpaint.js";
import { Sessions } from "./sessions.js";
import { openStore } from "./store.js";
import { StatusLine, askKey, clearMessage, confirmDialog, describeError, openLightbox, showMessage } from "./ui.js";
import { $, clamp, isTyping } from "./util.js";

const SETTINGS_KEY = "unclip.settings";
const ALL_SIZES = [256, 512, 1024];
const HEALTH_EVERY_MS = 10_000; // the status line follows the server
const TABS_OF = { generate: "generate", variation: "generate", edit: "edit", outpaint: "outpaint", canvas: "outpaint" };

class App {
  constructor() {
    this.busy = false;
    this.maxSize = 1024;
    this.health = null;
    this.settings = this.loadSettings();
    this.tabs = {};
    this.activeTab = "generate";
  }

  async start() {
    const { store, problem } = await openStore();
    this.store = store;
    this.history = new History(this, store, (entry) => this.openEntry(entry));
    this.sessions = new Sessions(this, store);
    this.tabs.generate = new GenerateTab(this);
    this.tabs.edit = new EditTab(this);
    this.tabs.outpaint = new OutpaintTab(this);
    this.onHistoryCleared = () => this.tabs.generate.clear();

    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", () => this.switchTab(tab.dataset.tab));
    }
    $("#message-close").addEventListener("click", clearMessage);
    $("#settings-button").addEventListener("click", () => this.openSettings());
    $("#history-toggle").addEventListener("click", () => this.toggleHistory());
    if (localStorage.getItem("unclip.historyHidden") === "1") this.toggleHistory(false);
    if (window.matchMedia("(max-width: 900px)").matches) $("#history-toggle").setAttribute("aria-pressed", "false");
    document.addEventListener("keydown", (e) => this.key(e));
    window.addEventListener("beforeunload", (e) => {
      if (!this.busy && !this.sessions.pending) return;
      e.preventDefault(); // a request is running (its result would be lost) or work is being saved
      e.returnValue = "";
    });

    const tab = location.hash.slice(1);
    this.switchTab(["generate", "edit", "outpaint"].includes(tab) ? tab : "generate");
    if (problem) {
      this.message({ kind: "info", title: "Your work is not saved", text: `This browser refused IndexedDB (${problem?.message || problem}); results and sessions last until the page is closed.` });
    }
    await Promise.all([this.connect(), this.history.load()]);
    const latest = this.history.entries.find((e) => TABS_OF[e.kind] === "generate");
    if (latest) this.tabs.generate.show(latest);
    await this.tabs.edit.restoreSession().catch((e) => console.warn("edit session not restored", e));
    await this.tabs.outpaint.restoreSession().catch((e) => console.warn("canvas session not restored", e));
    setInterval(() => this.connect(), Number(window.UNCLIP_HEALTH_EVERY_MS) || HEALTH_EVERY_MS);
    document.body.classList.remove("loading");
    document.body.dataset.ready = "1";
    await this.askKeyIfNeeded();
  }

  // ------------------------------------------------------------------ server
  /** Read /health and show it in the status line (at start, then every HEALTH_EVERY_MS). */
  async connect() {
    const info = $("#server-info");
    const first = this.health === null;
    let h;
    try {
      h = await api.health();
    } catch (e) {
      info.textContent = "server unreachable";
      info.title = `GET /health failed: ${e.message || e}. Checked again every few seconds.`;
      info.className = "server-info bad";
      if (!this.unreachable) this.message({ kind: "error", title: "The server is unreachable.", text: String(e.message || e) });
      this.unreachable = true;
      return;
    }
    this.unreachable = false;
    this.health = h;
    this.maxSize = h.max_size || 1024;
    if (first && !this.settings.saved && this.recommendedSize()) this.settings.size = this.recommendedSize();
    if (!this.sizes().includes(this.settings.size)) this.settings.size = this.defaultSize();
    const waived = h.safety_waived || [];
    let safety = h.safety === "OFF" ? "content policy OFF" : "content policy on";
    if (h.safety !== "OFF" && waived.length) safety += ` · WAIVED: ${waived.join(", ")}`;
    const state = h.status === "ok" ? "" : ` · ${h.status}`;
    info.textContent = `${h.model || "model"} · up to ${this.maxSize}px · ${safety}${state}`;
    info.title = Object.entries(h.safety_checks || {}).map(([name, check]) => `${name}: ${check}`).join("\n");
    info.className = `server-info${h.status !== "ok" || h.safety !== "on" ? " bad" : ""}`;
    if (first && h.endpoints && h.endpoints.edit === false) {
      this.message({ kind: "info", title: "This model cannot edit.", text: "Its server answers edit and outpainting requests with an error; generating and variations work." });
    }
  }

  recommendedSize() {
    const r = Number(this.health?.recommended_size);
    return ALL_SIZES.includes(r) && r <= this.maxSize ? r : null;
  }

  /** "recommended here · 2.1 s per image" for a size, from /health. */
  sizeNote(size) {
    const parts = [];
    if (size === this.recommendedSize()) parts.push(`recommended for this server (${this.health?.device || "its device"})`);
    const measured = this.health?.sizes?.[String(size)]?.seconds_per_image;
    parts.push(measured ? `about ${measured < 10 ? measured.toFixed(1) : Math.round(measured)} s per image here` : "not timed on this server yet");
    return parts.join(" · ");
  }

  /** A server with keys and none stored: ask once at start (requests ask again on a 401). */
  async askKeyIfNeeded() {
    if (this.health?.auth && !api.getKey()) {
      const key = await askKey("This server needs an API key. Ask its operator for one.");
      if (key) api.setKey(key);
    }
  }

  sizes() {
    return ALL_SIZES.filter((s) => s <= this.maxSize);
  }

  defaultSize() {
    return this.recommendedSize() || Math.min(1024, this.maxSize);
  }

  /** A history entry, opened in the tab it came from. */
  openEntry(entry) {
    const tab = TABS_OF[entry.kind] || "generate";
    if (tab === "edit") return this.tabs.edit.openEntry(entry);
    if (tab === "outpaint") return this.tabs.outpaint.openEntry(entry);
    this.switchTab("generate");
    return this.tabs.generate.show(entry);
  }

  /** A write to the browser's storage failed (a full quota, most likely): say so once per kind of failure. */
  storageFailed(error, what) {
    const quota = error?.quota || /quota/i.test(String(error?.message || error));
    const text = quota
      ? "The browser's storage for this site is full. Clear the history (or free space in the browser's site settings); what is on screen stays until the page closes."
      : String(error?.message || error);
    this.message({ kind: "error", title: `${what}: ${quota ? "the browser's storage is full" : "the browser refused to save it"}.`, text });
  }

  // ------------------------------------------------------------------ settings
  loadSettings() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}") || {};
    } catch { /* ignore */ }
    return {
      n: clamp(Number(saved.n) || 4, 1, 10),
      size: ALL_SIZES.includes(Number(saved.size)) ? Number(saved.size) : 256, // until /health recommends one
      saved: ALL_SIZES.includes(Number(saved.size)), // the user's choice, kept over the server's recommendation
    };
  }

  saveSettings() {
    try {
      localStorage.setItem(SETTINGS_KEY, JSON.stringify({ n: this.settings.n, size: this.settings.size }));
    } catch { /* ignore */ }
  }

  openSettings() {
    const dialog = $("#settings-dialog");
    $("#set-n").value = String(this.settings.n);
    $("#set-size").replaceChildren(...this.sizes().map((s) => {
      const option = document.createElement("option");
      option.value = String(s);
      const measured = this.health?.sizes?.[String(s)]?.seconds_per_image;
      option.textContent = `${s}×${s}${s === this.recommendedSize() ? " (recommended)" : ""}${measured ? ` · ~${Math.round(measured * 10) / 10} s per image` : ""}`;
      option.selected = s === this.settings.size;
      return option;
    }));
    const note = () => {
      $("#set-size-note").textContent = this.sizeNote(Number($("#set-size").value));
    };
    $("#set-size").onchange = note;
    note();
    // a server without keys needs none: the field is only there to remove a key stored earlier
    $("#set-key-field").hidden = !this.health?.auth && !api.getKey();
    $("#set-key-change").hidden = !this.health?.auth;
    const keyState = () => {
      $("#set-key-state").textContent = api.getKey() ? "A key is stored in this browser." : "No key stored.";
      $("#set-key-forget").disabled = !api.getKey();
    };
    keyState();
    $("#set-key-change").onclick = async () => {
      dialog.close("cancel");
      const key = await askKey("Enter the API key for this server.");
      if (key) api.setKey(key);
      this.openSettings();
    };
    $("#set-key-forget").onclick = () => {
      api.setKey("");
      keyState();
    };
    $("#settings-cancel").onclick = () => dialog.close("cancel");
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue !== "ok") return;
      this.settings.n = clamp(Math.round(Number($("#set-n").value) || 4), 1, 10);
      this.settings.size = Number($("#set-size").value) || this.defaultSize();
      this.settings.saved = true;
      this.saveSettings();
      this.tabs.outpaint.shown();
    };
    dialog.showModal();
  }

  toggleHistory(show) {
    if (show === undefined && window.matchMedia("(max-width: 900px)").matches) {
      // narrow screens: the history is an overlay, closed by default
      const open = document.body.classList.toggle("history-overlay");
      $("#history-toggle").setAttribute("aria-pressed", String(open));
      return;
    }
    const hidden = show === undefined ? !document.body.classList.contains("history-hidden") : !show;
    document.body.classList.toggle("history-hidden", hidden);
    $("#history-toggle").setAttribute("aria-pressed", String(!hidden));
    try {
      localStorage.setItem("unclip.historyHidden", hidden ? "1" : "0");
    } catch { /* ignore */ }
    this.tabs.outpaint?.render();
  }

  // ------------------------------------------------------------------ tabs
  switchTab(name) {
    this.activeTab = name;
    for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
    for (const panel of document.querySelectorAll(".tab-panel")) panel.hidden = panel.id !== `tab-${name}`;
    if (location.hash.slice(1) !== name) history.replaceState(null, "", `#${name}`);
    if (name === "outpaint") requestAnimationFrame(() => this.tabs.outpaint.shown());
  }

  // ------------------------------------------------------------------ requests
  message(m) {
    showMessage(m);
  }

  confirm(text, okLabel) {
    return confirmDialog(text, okLabel);
  }

  lightbox(blob, caption, actions) {
    openLightbox(blob, caption, actions);
  }

  setBusy(busy) {
    this.busy = busy;
    document.body.classList.toggle("busy", busy);
    for (const tab of Object.values(this.tabs)) tab.updateButtons();
  }

  /** Run one API call with the busy state, a status line (with the stream's progress bar), the API key
   *  prompt on 401, and error messages. `call(signal, onEvent)`; `onPartial(event)` gets the stream's
   *  partial images and `onEnd()` is called when the call ends either way (to take partials off screen).
   *  Resolves to the call's result, or null when it failed or was cancelled (`this.lastOutcome` says which). */
  async run(statusNode, label, call, { onPartial = null, onEnd = null } = {}) {
    if (this.busy) return null;
    clearMessage();
    const controller = new AbortController();
    this.lastOutcome = "running";
    const status = new StatusLine(statusNode);
    this.setBusy(true);
    status.start(label, () => controller.abort());
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const result = await call(controller.signal, (event) => {
            if (event.type === "unclip.progress") status.progress(event);
            else if (event.type?.endsWith(".partial_image")) {
              this.partialsShown = (this.partialsShown || 0) + 1; // for the end-to-end tests
              if (onPartial) onPartial(event);
              else status.partial(event);
            }
          });
          this.lastOutcome = "done";
          return result;
        } catch (e) {
          if (e?.name === "ApiError" && e.isAuth && attempt < 3) {
            const key = await askKey(api.getKey() ? `The server did not accept the key. ${e.message}` : "This server needs an API key.");
            if (key) {
              api.setKey(key);
              continue;
            }
          }
          throw e;
        }
      }
    } catch (e) {
      if (e?.name === "AbortError") {
        this.lastOutcome = "cancelled";
        this.message({ kind: "info", title: "Cancelled.", text: "The request was stopped; the server stopped its work. Nothing was added to the history." });
      } else {
        this.lastOutcome = "failed";
        this.message(describeError(e));
      }
      return null;
    } finally {
      onEnd?.();
      status.stop();
      this.setBusy(false);
    }
  }

  // ------------------------------------------------------------------ keyboard
  key(e) {
    if (document.querySelector("dialog[open]")) return;
    const mod = e.ctrlKey || e.metaKey;
    // text fields keep their own keys (including their own undo); only Ctrl+Z outside them is ours
    if (isTyping(e.target)) return;
    const tab = this.tabs[this.activeTab];
    if (tab?.key && tab.key(e)) {
      e.preventDefault();
      return;
    }
    if (!mod && e.key === "/" && this.activeTab === "generate") {
      e.preventDefault();
      $("#gen-prompt").focus();
    }
  }
}

const app = new App();
window.unclipEditor = app; // for the browser console and the end-to-end tests
app.start().catch((e) => {
  console.error(e);
  showMessage({ kind: "error", title: "The editor failed to start.", text: String(e?.message || e) });
});
