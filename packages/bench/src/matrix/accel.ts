// KVM or TCG. --accel auto boots a tiny guest under KVM once per host boot and remembers the answer:
// on this project's machines /dev/kvm opens but nested guests die with "KVM internal error".
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot } from "./kernels.js";
import { kvmDevice, probeKvm, type Accel, type BootOptions } from "./qemu.js";

export type AccelChoice = Accel | "auto";

export interface AccelDecision {
  accel: Accel;
  /** why KVM is not used (auto), or null */
  reason: string | null;
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "unknown";
  }
}

export async function chooseAccel(
  choice: AccelChoice,
  base: Omit<BootOptions, "accel" | "job" | "timeoutMs" | "onConsole">,
  qemuVersion: string,
  log: (line: string) => void,
): Promise<AccelDecision> {
  if (choice === "tcg") return { accel: "tcg", reason: null };
  const memo = join(cacheRoot(), "kvm-probe.json");
  const key = `${bootId()} ${qemuVersion}`;
  let failure: string | null | undefined;
  const noDevice = kvmDevice();
  if (noDevice !== null) failure = noDevice;
  else {
    try {
      const saved = JSON.parse(readFileSync(memo, "utf8")) as { key: string; failure: string | null };
      if (saved.key === key) failure = saved.failure;
    } catch {
      // not probed yet on this boot
    }
  }
  if (failure === undefined) {
    log("checking whether KVM runs a guest here");
    failure = await probeKvm(base);
    mkdirSync(cacheRoot(), { recursive: true });
    writeFileSync(memo, JSON.stringify({ key, failure }) + "\n");
  }
  if (failure === null) return { accel: "kvm", reason: null };
  if (choice === "kvm") throw new Error(`--accel kvm: KVM does not work here (${failure}); use --accel tcg or auto`);
  return { accel: "tcg", reason: failure };
}
