// Detached memory: an ArrayBuffer handed to structuredClone/postMessage in `transfer`, or moved by
// ArrayBuffer.prototype.transfer(), leaves every view of it with length 0. Passed on, such a view
// would make a read resolve 0 or a batch send nothing, and native code that writes through a view
// it trusts would write through a null pointer.
import { types } from "node:util";

// ArrayBuffer.prototype.detached (Node 22+); Node 20 has no such getter.
const detachedGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "detached")?.get as ((this: ArrayBuffer) => boolean) | undefined;

/** True when `view`'s ArrayBuffer was detached (a SharedArrayBuffer never is). */
export function isDetached(view: ArrayBufferView): boolean {
  if (view.byteLength !== 0) return false;
  const ab = view.buffer;
  if (!types.isArrayBuffer(ab)) return false;
  if (detachedGetter !== undefined) return detachedGetter.call(ab);
  try {
    new Uint8Array(ab, 0, 0); // throws only on a detached buffer
    return false;
  } catch {
    return true;
  }
}
