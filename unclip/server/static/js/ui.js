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

const STAGE_LABELS = { prior: "Prior", decoder: "Decoder", upsampler_256: "Upsampling to 256", upsampler_1024: "Upsampling to 1024" };

/** The spinner + elapsed time + progress bar by stage + Cancel shown in a tab while its request runs. */
export class StatusLine {
  constructor(node) {
    this.node = node;
    this.timer = null;
  }

  start(label, onCancel) {
    const started = performance.now();
    const text = el("span", { class: "status-text" }, `${label}…`);
    const cancel = el("button", { type: "button", class: "small status-cancel", onclick: onCancel }, "Cancel");
    this.bar = el("progress", { class: "stage-progress", max: "1", value: "0", "aria-label": "Progress" });
    this.stage = el("span", { class: "stage-label" }, "Waiting for the model");
    this.node.replaceChildren(el("span", { class: "spinner", role: "progressbar", "aria-label": "Working" }), text,
      this.bar, this.stage, cancel);
    this.node.classList.add("active");
    this.timer = setInterval(() => {
      text.textContent = `${label}… ${Math.round((performance.now() - started) / 1000)} s`;
    }, 1000);
  }

  /** An `unclip.progress` event: the stage's name and the whole run's fraction done. */
  progress(event) {
    if (!this.bar) return;
    const fraction = event.overall > 0 ? Math.min(1, event.done / event.overall) : 0;
    this.bar.value = fraction;
    this.bar.dataset.stage = event.stage;
    this.stage.textContent = `${STAGE_LABELS[event.stage] || event.stage} ${event.step}/${event.total} · ${Math.round(fraction * 100)}%`;
    this.node.dataset.progressSeen = "1"; // for the end-to-end tests
  }

  /** A partial image, in a strip of thumbnails in the status line (one per image_index; tabs whose results
   *  show elsewhere draw them there instead). */
  partial(event) {
    if (!this.node.classList.contains("active")) return;
    if (!this.strip) {
      this.strip = el("span", { class: "partials" });
      this.node.insertBefore(this.strip, this.node.lastChild);
      this.urls = [];
    }
    const index = Number(event.image_index) || 0;
    let image = this.strip.querySelector(`img[data-index="${index}"]`);
    if (!image) {
      image = el("img", { class: "partial", alt: `partial image ${index + 1}`, dataset: { index: String(index) } });
      this.strip.append(image);
    }
    const url = URL.createObjectURL(event.blob);
    this.urls.push(url);
    image.src = url;
    image.dataset.partialIndex = String(event.partial_image_index);
  }

  stop() {
    clearInterval(this.timer);
    for (const url of this.urls || []) URL.revokeObjectURL(url);
    this.urls = [];
    this.strip = null;
    this.timer = null;
    this.bar = null;
    this.node.classList.remove("active");
    delete this.node.dataset.progressSeen;
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
