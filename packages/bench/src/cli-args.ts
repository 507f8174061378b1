// Option parsers for compare, report and ab: a bad value is a one-line error and exit code 2.
import { InvalidArgumentError } from "commander";

export function percent(what: string, allowZero: boolean) {
  return (text: string): number => {
    const v = Number(text);
    if (text.trim() === "" || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0) || v >= 100) {
      throw new InvalidArgumentError(`Expected ${allowZero ? "a non-negative" : "a positive"} percentage below 100 for ${what} but received ${text}`);
    }
    return v;
  };
}

export function intRange(what: string, min: number, max: number) {
  return (text: string): number => {
    const v = Number(text);
    if (text.trim() === "" || !Number.isInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`Expected an integer from ${min} to ${max} for ${what} but received ${text}`);
    }
    return v;
  };
}

export function positive(what: string, max: number) {
  return (text: string): number => {
    const v = Number(text);
    if (text.trim() === "" || !Number.isFinite(v) || v <= 0 || v > max) {
      throw new InvalidArgumentError(`Expected a number above 0 and up to ${max} for ${what} but received ${text}`);
    }
    return v;
  };
}
