// The progress bar on stderr (cli-progress); silent when stderr is not a terminal, so logs and
// CI output stay clean.
import cliProgress from "cli-progress";
import type { Progress } from "./pps/run.js";

export function progressBar(enabled: boolean): { update: Progress; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: "{bar} {value}/{total} runs  {label}", stream: process.stderr, clearOnComplete: true, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total, label) => {
      if (!started) {
        bar.start(total, done, { label });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { label });
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
