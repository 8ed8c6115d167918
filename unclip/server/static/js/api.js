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

const sizeLabel = (size) => `${size}x${size}`;

export async function health() {
  const response = await fetch("health", { cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (!body) throw new ApiError(response.status, { message: `GET /health answered HTTP ${response.status}.` });
  return body;
}

/** A random seed for a request that gives none, so that every result's seed is known (the API takes
 *  0..2**64-1; 2**53 keeps it exact in JavaScript). */
export function randomSeed() {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return (high % 2 ** 21) * 2 ** 32 + low;
}

const PARTIAL_IMAGES = 2;

/** One event of a stream, parsed: `data: {...}` lines of an SSE block. */
function parseEvent(block) {
  const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
  if (!data) return null;
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}

/** POST a streamed request (`stream: true`) and read its server-sent events. `onEvent(event)` gets every
 *  progress and partial image event (a partial's `blob` is its PNG); resolves to the completed images'
 *  Blobs, in order. An `error` event, or an answer that is not a stream, throws an ApiError; the signal
 *  aborts the request, which closes the stream and stops the server's work. */
async function streamed(path, init, onEvent) {
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
  if (!response.ok || !(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch { /* not JSON */ }
    const error = body && typeof body.error === "object" ? body.error
      : { message: `The server answered HTTP ${response.status}${text ? ": " + text.slice(0, 300) : "."}` };
    const failure = new ApiError(response.ok ? 500 : response.status, error);
    failure.refusal = response.headers.get("x-unclip-refusal-category");
    throw failure;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const completed = [];
  let buffer = "";
  const handle = (event) => {
    if (!event) return;
    if (event.type === "error") {
      const failure = new ApiError(200, event.error || { message: "The stream failed." });
      // a stream cannot send the refusal header: a refusal's error object names the category instead
      failure.refusal = event.error?.category ?? null;
      throw failure;
    }
    if (event.type?.endsWith(".completed")) {
      completed.push(base64ToBlob(event.b64_json));
      return;
    }
    if (event.type?.endsWith(".partial_image")) onEvent?.({ ...event, blob: base64ToBlob(event.b64_json) });
    else onEvent?.(event);
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buffer += value.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        handle(parseEvent(buffer.slice(0, cut)));
        buffer = buffer.slice(cut + 2);
      }
      if (done) break;
    }
    handle(parseEvent(buffer));
  } catch (e) {
    reader.cancel().catch(() => {});
    throw e;
  }
  if (completed.length === 0) throw new ApiError(200, { message: "The stream ended without an image." });
  return completed;
}

/** POST /v1/images/generations, streamed -> {images: PNG Blobs, seed} */
export async function generate({ prompt, n, size, seed = null }, signal, onEvent) {
  seed ??= randomSeed();
  const images = await streamed("v1/images/generations", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      prompt, n, size: sizeLabel(size), response_format: "b64_json", stream: true, partial_images: PARTIAL_IMAGES, seed,
    }),
    signal,
  }, onEvent);
  return { images, seed };
}

function streamForm(form, seed) {
  form.append("response_format", "b64_json");
  form.append("stream", "true");
  form.append("partial_images", String(PARTIAL_IMAGES));
  form.append("seed", String(seed));
  return form;
}

/** POST /v1/images/edits, streamed: `image` is a square PNG whose fully transparent pixels are the area to
 * fill; `outpaint`: that area extends the picture (unclip's own field: the model's outpainting method
 * fills it). -> {images, seed} */
export async function edit({ image, mask = null, prompt, n, size, outpaint = false, seed = null }, signal, onEvent) {
  seed ??= randomSeed();
  const form = new FormData();
  form.append("image", image, "image.png");
  if (mask) form.append("mask", mask, "mask.png");
  if (outpaint) form.append("outpaint", "true");
  form.append("prompt", prompt);
  form.append("n", String(n));
  form.append("size", sizeLabel(size));
  const images = await streamed("v1/images/edits", { method: "POST", body: streamForm(form, seed), signal }, onEvent);
  return { images, seed };
}

/** POST /v1/images/variations, streamed -> {images, seed} */
export async function vary({ image, n, size, seed = null }, signal, onEvent) {
  seed ??= randomSeed();
  const form = new FormData();
  form.append("image", image, "image.png");
  form.append("n", String(n));
  form.append("size", sizeLabel(size));
  const images = await streamed("v1/images/variations", { method: "POST", body: streamForm(form, seed), signal }, onEvent);
  return { images, seed };
}
