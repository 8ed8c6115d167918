// The crop dialog: choose a square region of any image; the result is a canvas of outSize x outSize.
// `outSize` is a number, or a function of the chosen square's side (so a small crop is not blown up).

import { $, clamp, newCanvas } from "./util.js";

const HANDLE = 12; // px on screen around each corner that resizes instead of moving

export function cropToSquare(source, outSize) {
  const dialog = $("#crop-dialog");
  const canvas = $("#crop-canvas");
  const ctx = canvas.getContext("2d");
  const sizeOf = typeof outSize === "function" ? outSize : () => outSize;
  const w = source.width;
  const h = source.height;
  const maxW = Math.min(560, window.innerWidth - 80);
  const maxH = Math.min(420, window.innerHeight - 260);
  const scale = Math.min(maxW / w, maxH / h);
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  const minSide = Math.max(8, Math.min(w, h, 16));
  let sel = { side: Math.min(w, h) };
  sel.x = Math.floor((w - sel.side) / 2);
  sel.y = Math.floor((h - sel.side) / 2);
  let drag = null;

  const info = $("#crop-info");
  function render() {
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
    const x = sel.x * scale, y = sel.y * scale, s = sel.side * scale;
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    ctx.beginPath();
    ctx.rect(0, 0, canvas.width, canvas.height);
    ctx.rect(x, y, s, s);
    ctx.fill("evenodd");
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2;
    ctx.strokeRect(x + 1, y + 1, s - 2, s - 2);
    ctx.fillStyle = "#fff";
    for (const [cx, cy] of corners(x, y, s)) ctx.fillRect(cx - 5, cy - 5, 10, 10);
    info.textContent = `${w}×${h} image; square of ${sel.side}×${sel.side} at ${sel.x},${sel.y} → ${sizeOf(sel.side)}×${sizeOf(sel.side)}`;
  }

  const corners = (x, y, s) => [[x, y], [x + s, y], [x, y + s], [x + s, y + s]];

  function toSource(e) {
    const rect = canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - rect.left) * canvas.width) / rect.width / scale,
      y: ((e.clientY - rect.top) * canvas.height) / rect.height / scale,
    };
  }

  function onDown(e) {
    const p = toSource(e);
    const tol = HANDLE / scale;
    const cs = corners(sel.x, sel.y, sel.side);
    const hit = cs.findIndex(([cx, cy]) => Math.abs(p.x - cx) <= tol && Math.abs(p.y - cy) <= tol);
    if (hit >= 0) {
      const [ax, ay] = cs[3 - hit]; // the opposite corner stays put
      drag = { mode: "resize", ax, ay };
    } else if (p.x >= sel.x && p.x <= sel.x + sel.side && p.y >= sel.y && p.y <= sel.y + sel.side) {
      drag = { mode: "move", dx: p.x - sel.x, dy: p.y - sel.y };
    } else {
      return;
    }
    canvas.setPointerCapture(e.pointerId);
  }

  function onMove(e) {
    if (!drag) return;
    const p = toSource(e);
    if (drag.mode === "move") {
      sel.x = Math.round(clamp(p.x - drag.dx, 0, w - sel.side));
      sel.y = Math.round(clamp(p.y - drag.dy, 0, h - sel.side));
    } else {
      const { ax, ay } = drag;
      const dirX = p.x < ax ? -1 : 1;
      const dirY = p.y < ay ? -1 : 1;
      const room = Math.min(dirX < 0 ? ax : w - ax, dirY < 0 ? ay : h - ay);
      const side = Math.round(clamp(Math.max(Math.abs(p.x - ax), Math.abs(p.y - ay)), minSide, room));
      sel = { side, x: dirX < 0 ? ax - side : ax, y: dirY < 0 ? ay - side : ay };
    }
    render();
  }

  function onUp() {
    drag = null;
  }

  function onWheel(e) {
    e.preventDefault();
    const cx = sel.x + sel.side / 2, cy = sel.y + sel.side / 2;
    const side = Math.round(clamp(sel.side * Math.exp(-e.deltaY * 0.001), minSide, Math.min(w, h)));
    sel = {
      side,
      x: Math.round(clamp(cx - side / 2, 0, w - side)),
      y: Math.round(clamp(cy - side / 2, 0, h - side)),
    };
    render();
  }

  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerup", onUp);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  render();
  dialog.returnValue = "";
  dialog.showModal();
  $("#crop-ok").focus();

  return new Promise((resolve) => {
    const finish = (ok) => {
      canvas.removeEventListener("pointerdown", onDown);
      canvas.removeEventListener("pointermove", onMove);
      canvas.removeEventListener("pointerup", onUp);
      canvas.removeEventListener("wheel", onWheel);
      $("#crop-ok").onclick = null;
      $("#crop-cancel").onclick = null;
      if (dialog.open) dialog.close();
      if (!ok) return resolve(null);
      const side = sizeOf(sel.side);
      const out = newCanvas(side, side);
      const octx = out.getContext("2d");
      // a square of exactly outSize px is copied pixel for pixel; anything else is resampled
      octx.imageSmoothingEnabled = sel.side !== side;
      octx.imageSmoothingQuality = "high";
      octx.drawImage(source, sel.x, sel.y, sel.side, sel.side, 0, 0, side, side);
      resolve(out);
    };
    $("#crop-ok").onclick = () => finish(true);
    $("#crop-cancel").onclick = () => finish(false);
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      finish(false);
    }, { once: true });
  });
}
