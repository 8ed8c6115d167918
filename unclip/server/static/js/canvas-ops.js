// The canvas as a list of steps. Replaying the steps in order gives the picture, so the steps are what
// is saved (pictures by blob id) and what undo/redo move through.
//
//   {type: "place", x, y, image, fresh}  a picture at (x, y) over what is there (fresh: on a new canvas)
//   {type: "fill", x, y, size, image}    a generated frame: fills only the pixels that are still empty
//   {type: "erase", points, r}            the eraser: every pixel the stroke touches becomes empty
//   {type: "clear"}                       a new, empty canvas
//
// A state is {world: canvas | null, origin: {x, y}}: the world's top-left in canvas coordinates. States
// are never changed: each step makes a new world canvas.

import { ctx2d, newCanvas } from "./util.js";

export const EMPTY = Object.freeze({ world: null, origin: Object.freeze({ x: 0, y: 0 }) });

/** The bounding box of the state's world and a rectangle. */
export function grownBounds(state, x, y, w, h) {
  let x0 = x, y0 = y, x1 = x + w, y1 = y + h;
  if (state.world) {
    x0 = Math.min(x0, state.origin.x);
    y0 = Math.min(y0, state.origin.y);
    x1 = Math.max(x1, state.origin.x + state.world.width);
    y1 = Math.max(y1, state.origin.y + state.world.height);
  }
  return { x0, y0, x1, y1 };
}

function drawn(state, x, y, w, h, image, composite) {
  const { x0, y0, x1, y1 } = grownBounds(state, x, y, w, h);
  const out = newCanvas(x1 - x0, y1 - y0);
  const ctx = ctx2d(out);
  if (state.world) ctx.drawImage(state.world, state.origin.x - x0, state.origin.y - y0);
  ctx.globalCompositeOperation = composite;
  ctx.drawImage(image, x - x0, y - y0, w, h);
  return { world: out, origin: { x: x0, y: y0 } };
}

/** Every pixel under the stroke (any coverage) made fully transparent. */
function erased(state, points, r) {
  if (!state.world || !points.length) return state;
  const { world, origin } = state;
  const mask = newCanvas(world.width, world.height);
  const m = ctx2d(mask);
  m.strokeStyle = m.fillStyle = "#000";
  m.lineCap = m.lineJoin = "round";
  m.lineWidth = r * 2;
  m.beginPath();
  m.moveTo(points[0][0] - origin.x, points[0][1] - origin.y);
  for (const [x, y] of points) m.lineTo(x - origin.x + 0.01, y - origin.y);
  m.stroke();
  const out = newCanvas(world.width, world.height);
  const ctx = ctx2d(out);
  ctx.drawImage(world, 0, 0);
  const picture = ctx.getImageData(0, 0, world.width, world.height);
  const covered = m.getImageData(0, 0, world.width, world.height).data;
  for (let i = 3; i < covered.length; i += 4) if (covered[i]) picture.data[i] = 0;
  ctx.putImageData(picture, 0, 0);
  return { world: out, origin: { ...origin } };
}

/** The state after one step. */
export function apply(state, op) {
  switch (op.type) {
    case "place":
      if (!op.image) return state; // its picture was not saved
      return op.fresh ? drawn(EMPTY, op.x, op.y, op.image.width, op.image.height, op.image, "source-over")
        : drawn(state, op.x, op.y, op.image.width, op.image.height, op.image, "source-over");
    case "fill":
      if (!op.image) return state;
      return drawn(state, op.x, op.y, op.size, op.size, op.image, "destination-over");
    case "erase":
      return erased(state, op.points, op.r);
    case "clear":
      return EMPTY;
    default:
      return state;
  }
}

/** A step as saved: no canvases (pictures are referenced by blobId). */
export function savedOp(op) {
  const { image, blob, kept, ...rest } = op; // eslint-disable-line no-unused-vars
  return rest;
}
