// The two sides of `ringpoll ab` as pps configurations of the bench engine: a receiver and an
// optional injected slowdown (calibrated once, like `bench pps --inject-percent`).
import { engine, type PpsOptions } from "../engine.js";
import { BadInput } from "../compare/input.js";
import { baseOptions, NATIVE_RECEIVERS, PPS_RECEIVERS, runPps, toRun, type PpsParams } from "../pps/run.js";
import type { AbSide } from "./loop.js";

export interface SideSpec {
  receiver: string;
  /** extra per-packet work, percent of the receiver's own per-packet CPU time */
  inject: number;
}

/** "receiver=epoll,inject=5" → SideSpec; keys left out take `defaults`. */
export function parseSide(name: string, text: string, defaults: SideSpec): SideSpec {
  const spec = { ...defaults };
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [key, value, ...rest] = part.split("=");
    if (value === undefined || rest.length) throw new BadInput(`Expected key=value pairs for ${name} but received ${part}`);
    if (key === "receiver") {
      if (!PPS_RECEIVERS.includes(value)) throw new BadInput(`Expected one of ${PPS_RECEIVERS.join(", ")} for ${name} receiver but received ${value}`);
      spec.receiver = value;
    } else if (key === "inject") {
      const v = Number(value);
      if (value.trim() === "" || !Number.isFinite(v) || v < 0 || v > 1000) throw new BadInput(`Expected a percentage from 0 to 1000 for ${name} inject but received ${value}`);
      spec.inject = v;
    } else {
      throw new BadInput(`Expected receiver or inject as keys of ${name} but received ${key}`);
    }
  }
  if (spec.inject > 0 && !(NATIVE_RECEIVERS as readonly string[]).includes(spec.receiver)) {
    throw new BadInput(`${name}: inject works in native receivers only (${NATIVE_RECEIVERS.join(", ")}), not ${spec.receiver}`);
  }
  return spec;
}

export function describeSide(spec: SideSpec): string {
  return spec.inject > 0 ? `${spec.receiver} +${spec.inject} % injected` : spec.receiver;
}

export type PpsBase = Omit<PpsParams, "receivers" | "runs" | "injectPercent">;

function nativeOptions(p: PpsBase, receiver: string, seconds: number, injectNs: number): PpsOptions {
  return { ...baseOptions({ ...p, receivers: [receiver], runs: 1, injectPercent: 0 }, receiver, seconds), injectNs };
}

/**
 * Per-packet ns to inject: `percent` of the receiver's CPU time per packet over a 1 s window
 * (with `baseNs` of work already added to every packet).
 */
export async function calibrateInject(p: PpsBase, receiver: string, percent: number, baseNs = 0): Promise<number> {
  const w = await engine.pps(nativeOptions(p, receiver, 1, baseNs));
  return w.count > 0 ? ((w.cpuNs / w.count) * percent) / 100 : 0;
}

/**
 * `baseNs`: work added to every packet of this side before any injection (validate:stats uses it
 * on both sides to make the receiver, not the sender, the bottleneck).
 */
export async function ppsSide(label: string, spec: SideSpec, p: PpsBase, baseNs = 0): Promise<AbSide & { injectNs: number }> {
  const native = (NATIVE_RECEIVERS as readonly string[]).includes(spec.receiver);
  if (baseNs > 0 && !native) throw new BadInput(`base work works in native receivers only, not ${spec.receiver}`);
  const injectNs = baseNs + (spec.inject > 0 ? await calibrateInject(p, spec.receiver, spec.inject, baseNs) : 0);
  return {
    label,
    injectNs,
    measure: async (round) => {
      if (native) return toRun(await engine.pps(nativeOptions(p, spec.receiver, p.duration, injectNs)), round, injectNs > 0 ? { injectNs } : {});
      const [result] = await runPps({ ...p, receivers: [spec.receiver], runs: 1, injectPercent: 0 }, () => undefined);
      return { ...result.runs[0], round };
    },
  };
}
