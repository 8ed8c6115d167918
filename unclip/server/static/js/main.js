// The unclip editor: wires the tabs, settings, API key, history, busy state and keyboard shortcuts.
// Plain ES modules served by `unclip serve` at /; no build step.

import * as api from "./api.js";
import { EditTab } from "./edit.js";
import { GenerateTab } from "./generate.js";
import { History } from "./history.js";
import { OutpaintTab } from "./outpaint.js";
import { StatusLine, askKey, clearMessage, confirmDialog, describeError, openLightbox, showMessage } from "./ui.js";
import { $, clamp, isTyping } from "./util.js";

const SETTINGS_KEY = "unclip.settings";
const ALL_SIZES = [256, 512, 1024];

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
    this.history = new History(this, (entry) => {
      this.switchTab("generate");
      this.tabs.generate.show(entry);
    });
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

    const tab = location.hash.slice(1);
    this.switchTab(["generate", "edit", "outpaint"].includes(tab) ? tab : "generate");
    await Promise.all([this.connect(), this.history.load()]);
    const latest = this.history.entries[0];
    if (latest) this.tabs.generate.show(latest);
    document.body.classList.remove("loading");
    document.body.dataset.ready = "1";
    await this.askKeyIfNeeded();
  }

  // ------------------------------------------------------------------ server
  async connect() {
    const info = $("#server-info");
    try {
      this.health = await api.health();
    } catch (e) {
      info.textContent = "server unreachable";
      info.classList.add("bad");
      this.message({ kind: "error", title: "The server is unreachable.", text: String(e.message || e) });
      return;
    }
    const h = this.health;
    this.maxSize = h.max_size || 1024;
    if (!this.sizes().includes(this.settings.size)) this.settings.size = this.defaultSize();
    const waived = h.safety_waived || [];
    let safety = h.safety === "OFF" ? "content policy OFF" : "content policy on";
    if (h.safety !== "OFF" && waived.length) safety += ` · WAIVED: ${waived.join(", ")}`;
    info.textContent = `${h.model || "model"} · up to ${this.maxSize}px · ${safety}`;
    info.title = Object.entries(h.safety_checks || {}).map(([name, state]) => `${name}: ${state}`).join("\n");
    info.classList.toggle("bad", h.status !== "ok" || h.safety !== "on");
    if (h.endpoints && h.endpoints.edit === false) {
      this.message({ kind: "info", title: "This model cannot edit.", text: "Its server answers edit and outpainting requests with an error; generating and variations work." });
    }
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
    return Math.min(1024, this.maxSize);
  }

  // ------------------------------------------------------------------ settings
  loadSettings() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}") || {};
    } catch { /* ignore */ }
    return {
      n: clamp(Number(saved.n) || 4, 1, 10),
      size: ALL_SIZES.includes(Number(saved.size)) ? Number(saved.size) : 1024,
    };
  }

  saveSettings() {
    try {
      localStorage.setItem(SETTINGS_KEY, JSON.stringify(this.settings));
    } catch { /* ignore */ }
  }

  openSettings() {
    const dialog = $("#settings-dialog");
    $("#set-n").value = String(this.settings.n);
    $("#set-size").replaceChildren(...this.sizes().map((s) => {
      const option = document.createElement("option");
      option.value = String(s);
      option.textContent = `${s}×${s}`;
      option.selected = s === this.settings.size;
      return option;
    }));
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

  /** Run one API call with the busy state, a status line, the API key prompt on 401, and error messages.
   *  Resolves to the call's result, or null when it failed or was cancelled. */
  async run(statusNode, label, call) {
    if (this.busy) return null;
    clearMessage();
    const controller = new AbortController();
    const status = new StatusLine(statusNode);
    this.setBusy(true);
    status.start(label, () => controller.abort());
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await call(controller.signal);
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
      if (e?.name === "AbortError") this.message({ kind: "info", title: "Cancelled.", text: "The request was stopped." });
      else this.message(describeError(e));
      return null;
    } finally {
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
