// Shared UI pieces: the message banner, the busy indicator, confirm / API key dialogs, the lightbox.

import { $, el } from "./util.js";

/** The banner under the top bar. kind: "error" | "policy" | "info". */
export function showMessage({ kind = "error", title = "", text = "" }) {
  const box = $("#message");
  box.className = `message ${kind}`;
  box.dataset.kind = kind;
  $("#message-title").textContent = title;
  $("#message-text").textContent = text;
  box.hidden = false;
}

export function clearMessage() {
  $("#message").hidden = true;
}

/** Turn any error of a request into the banner's title and text. */
export function describeError(error) {
  if (error?.name === "ApiError") {
    if (error.isPolicy) {
      const what = error.refusal ? ` (${error.refusal})` : "";
      return { kind: "policy", title: `Refused by the content policy${what}.`, text: error.message };
    }
    if (error.status === 0) return { kind: "error", title: "The server is unreachable.", text: error.message };
    if (error.status === 401) {
      const title = error.code === "invalid_api_key" ? "The API key was not accepted." : "This server needs an API key.";
      return { kind: "error", title, text: `${error.message} (Settings → API key.)` };
    }
    if (error.status === 429) return { kind: "error", title: "The server is busy.", text: error.message };
    if (error.status >= 500) return { kind: "error", title: `The server failed (HTTP ${error.status}).`, text: error.message };
    const param = error.param ? ` (${error.param})` : "";
    return { kind: "error", title: `The request was refused${param}.`, text: error.message };
  }
  return { kind: "error", title: "Something went wrong.", text: String(error?.message || error) };
}

/** The spinner + elapsed time + Cancel shown in a tab while its request runs. */
export class StatusLine {
  constructor(node) {
    this.node = node;
    this.timer = null;
  }

  start(label, onCancel) {
    const started = performance.now();
    const text = el("span", { class: "status-text" }, `${label}…`);
    const cancel = el("button", { type: "button", class: "small", onclick: onCancel }, "Cancel");
    this.node.replaceChildren(el("span", { class: "spinner", role: "progressbar", "aria-label": "Working" }), text, cancel);
    this.node.classList.add("active");
    this.timer = setInterval(() => {
      text.textContent = `${label}… ${Math.round((performance.now() - started) / 1000)} s`;
    }, 1000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.node.classList.remove("active");
    this.node.replaceChildren();
  }
}

export function confirmDialog(text, okLabel = "OK") {
  const dialog = $("#confirm-dialog");
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

/** Ask for an API key; resolves to the key, or null when cancelled. */
export function askKey(reason) {
  const dialog = $("#key-dialog");
  const input = $("#key-input");
  $("#key-reason").textContent = reason || "This server needs an API key.";
  input.value = "";
  dialog.returnValue = "";
  $("#key-cancel").onclick = () => dialog.close("cancel");
  dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const key = input.value.trim();
      resolve(dialog.returnValue === "ok" && key ? key : null);
    }, { once: true });
  });
}

/** Show one image at full size with action buttons [{label, onclick, keepOpen}] (keepOpen: a download
 *  leaves the picture on screen; actions that go elsewhere close it). */
export function openLightbox(blob, caption, actions) {
  const dialog = $("#lightbox");
  const image = $("#lightbox-image");
  const url = URL.createObjectURL(blob);
  image.src = url;
  $("#lightbox-caption").textContent = caption;
  $("#lightbox-actions").replaceChildren(...actions.map(({ label, onclick, keepOpen }) => el("button", {
    type: "button",
    dataset: { action: label },
    onclick: () => {
      if (!keepOpen) dialog.close();
      onclick();
    },
  }, label)));
  $("#lightbox-close").onclick = () => dialog.close();
  dialog.addEventListener("close", () => URL.revokeObjectURL(url), { once: true });
  dialog.onclick = (e) => {
    if (e.target === dialog) dialog.close(); // a click on the backdrop
  };
  dialog.showModal();
}
