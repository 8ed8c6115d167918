// Small DOM and image helpers shared by the editor's modules.

export const $ = (selector, root = document) => root.querySelector(selector);

/** el("button", {class: "x", onclick: fn}, "text", child) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function newCanvas(width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

/** A 2D context for pixel work: no smoothing (integer copies stay exact), frequent reads. */
export function ctx2d(canvas) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = false;
  return ctx;
}

export function copyCanvas(source) {
  const canvas = newCanvas(source.width, source.height);
  ctx2d(canvas).drawImage(source, 0, 0);
  return canvas;
}

/** Decode a Blob/File into a canvas of its natural size (EXIF orientation applied). */
export async function blobToCanvas(blob) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    throw new Error("This file could not be read as an image (use PNG, JPEG or WebP).");
  }
  const canvas = newCanvas(bitmap.width, bitmap.height);
  ctx2d(canvas).drawImage(bitmap, 0, 0);
  bitmap.close();
  return canvas;
}

/** Encode a canvas as a PNG Blob. Through toDataURL, which encodes at once: Chromium runs toBlob's
 *  encoder in idle time, which a busy machine can put off for seconds. */
export async function canvasToBlob(canvas) {
  const url = canvas.toDataURL("image/png");
  const comma = url.indexOf(",");
  if (!url.startsWith("data:image/png") || comma < 0) throw new Error("could not encode the PNG");
  return base64ToBlob(url.slice(comma + 1));
}

export function base64ToBlob(b64, type = "image/png") {
  const raw = atob(b64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return new Blob([bytes], { type });
}

/** Save a Blob as a file through the browser's download. */
export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, hidden: true });  // no style attribute: the CSP forbids inline styles
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** "unclip-a-red-apple-2.png" */
export function fileName(prompt, suffix = "") {
  const slug = (prompt || "image").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48) || "image";
  return `unclip-${slug}${suffix ? "-" + suffix : ""}.png`;
}

export function isTyping(target) {
  if (!target) return false;
  const tag = target.tagName;
  return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && !["range", "button", "checkbox", "file"].includes(target.type))
    || target.isContentEditable;
}

export function clamp(value, lo, hi) {
  return Math.min(hi, Math.max(lo, value));
}

/** Grow a textarea with its content (up to its CSS max-height). */
export function autoGrow(textarea) {
  const fit = () => {
    textarea.style.height = "auto";
    textarea.style.height = `${textarea.scrollHeight}px`;
  };
  textarea.addEventListener("input", fit);
  return fit;
}

/** Enter submits the textarea's form; Shift+Enter makes a new line. */
export function submitOnEnter(textarea) {
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      textarea.form?.requestSubmit();
    }
  });
}
