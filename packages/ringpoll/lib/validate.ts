// Argument validation for lib/: native code trusts what passes these.
import { isDetached } from "./detached.js";
import { invalidArgType, invalidArgValue } from "./errors.js";

export function integer(name: string, value: unknown, min: number, max: number, expected?: string): number {
  const want = expected ?? describeRange(min, max);
  if (typeof value !== "number") throw invalidArgType(name, want, value);
  if (!Number.isInteger(value) || value < min || value > max) throw invalidArgValue(name, want, value);
  return value;
}

function describeRange(min: number, max: number): string {
  if (min === 0 && max >= 2 ** 31 - 1) return max === 2 ** 32 - 1 ? "32-bit unsigned integer" : "non-negative integer";
  if (min === 1 && max >= 2 ** 31 - 1) return "positive integer";
  return `integer between ${min} and ${max}`;
}

export const INT32_MAX = 2 ** 31 - 1;
export const UINT32_MAX = 2 ** 32 - 1;

export function fd(name: string, value: unknown): number {
  return integer(name, value, 0, INT32_MAX, "non-negative integer");
}

export function uint32(name: string, value: unknown): number {
  return integer(name, value, 0, UINT32_MAX, "32-bit unsigned integer");
}

/** A 32-bit flag mask; `EPOLLIN | EPOLLET` is negative in JS (bitwise ops are int32), so both forms pass. */
export function mask(name: string, value: unknown): number {
  return integer(name, value, -(2 ** 31), UINT32_MAX, "32-bit flag mask") >>> 0;
}

export function func<T extends Function>(name: string, value: unknown): T {
  if (typeof value !== "function") throw invalidArgType(name, "function", value);
  return value as T;
}

export function object<T extends object>(name: string, value: unknown): T {
  if (value === null || typeof value !== "object") throw invalidArgType(name, "object", value);
  return value as T;
}

export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalidArgType(name, "boolean", value);
  return value;
}

export function abortSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidArgType(name, "AbortSignal", value);
  return value;
}

/** Rejects option keys the caller did not mean (a typo would otherwise be silently ignored). */
export function knownKeys(name: string, value: object, keys: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw invalidArgValue(`${name}.${key}`, `one of the options ${keys.join(", ")}`, key);
  }
}

/** An options object: a plain object whose keys are all known. */
export function options<T extends object>(name: string, value: unknown, keys: readonly string[]): T {
  knownKeys(name, object(name, value), keys);
  return value as T;
}

/**
 * Memory for the kernel to read or write: a Buffer or Uint8Array whose ArrayBuffer was not
 * detached. Zero bytes are allowed; each op says what that means (see uring/args.ts).
 */
export function bytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidArgType(name, "Buffer or Uint8Array", value);
  if (isDetached(value)) throw invalidArgValue(name, "Buffer or Uint8Array whose ArrayBuffer is not detached", value);
  return value;
}
