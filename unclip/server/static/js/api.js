// The server's OpenAI-compatible Images API, as the editor uses it.
// URLs are relative to the page, so the editor also works behind a proxy that adds a path prefix.

import { base64ToBlob } from "./util.js";

const KEY_STORAGE = "unclip.apiKey";

export function getKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function setKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    /* storage disabled: the key lasts for this page only */
  }
}

/** An error answer of the API: {"error": {message, type, param, code}} plus the HTTP status. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `The server answered HTTP ${status}.`);
    this.name = "ApiError";
    this.status = status;
    this.type = error?.type ?? null;
    this.param = error?.param ?? null;
    this.code = error?.code ?? null;
  }

  get isPolicy() {
    return this.code === "content_policy_violation";
  }

  get isAuth() {
    return this.status === 401;
  }
}

async function request(path, init = {}) {
  const headers = new Headers(init.headers || {});
  const key = getKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, { message: `Could not reach the server (${e.message}). Is unclip serve running?`, type: "network_error" });
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && typeof body.error === "object" ? body.error
      : { message: `The server answered HTTP ${response.status}${text ? ": " + text.slice(0, 300) : "."}` };
    const failure = new ApiError(response.status, error);
    // unclip's header on a content policy refusal: what the check found (the body stays OpenAI's)
    failure.refusal = response.headers.get("x-unclip-refusal-category");
    throw failure;
  }
  return body;
}

async function images(body) {
  const items = body?.data;
  if (!Array.isArray(items) || items.length === 0) throw new ApiError(200, { message: "The server returned no images." });
  return Promise.all(items.map(async (item) => {
    if (item.b64_json) return base64ToBlob(item.b64_json);
    const response = await fetch(item.url);
    if (!response.ok) throw new ApiError(response.status, { message: `Could not fetch a result image (HTTP ${response.status}).` });
    return response.blob();
  }));
}

const sizeLabel = (size) => `${size}x${size}`;

export async function health() {
  const response = await fetch("health", { cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (!body) throw new ApiError(response.status, { message: `GET /health answered HTTP ${response.status}.` });
  return body;
}

/** POST /v1/images/generations -> PNG Blobs */
export async function generate({ prompt, n, size }, signal) {
  const body = await request("v1/images/generations", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt, n, size: sizeLabel(size), response_format: "b64_json" }),
    signal,
  });
  return images(body);
}

/** POST /v1/images/edits: `image` is a square PNG whose fully transparent pixels are the area to fill;
 * `outpaint`: that area extends the picture (unclip's own field: the model's outpainting method fills it). */
export async function edit({ image, mask = null, prompt, n, size, outpaint = false }, signal) {
  const form = new FormData();
  form.append("image", image, "image.png");
  if (mask) form.append("mask", mask, "mask.png");
  if (outpaint) form.append("outpaint", "true");
  form.append("prompt", prompt);
  form.append("n", String(n));
  form.append("size", sizeLabel(size));
  form.append("response_format", "b64_json");
  return images(await request("v1/images/edits", { method: "POST", body: form, signal }));
}

/** POST /v1/images/variations */
export async function vary({ image, n, size }, signal) {
  const form = new FormData();
  form.append("image", image, "image.png");
  form.append("n", String(n));
  form.append("size", sizeLabel(size));
  form.append("response_format", "b64_json");
  return images(await request("v1/images/variations", { method: "POST", body: form, signal }));
}
