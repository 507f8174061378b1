// An injected slowdown whose effect is the one asked for. `inject=p` adds p % of the receiver's CPU
// time per packet as extra work, but on a receiver that is not saturated the measured CPU per packet
// grows by less (more work per wake-up means larger batches, so the fixed cost per wake-up is spread
// over more packets), and on a noisy host one short calibration cannot tell 1.5 % from 0. So the
// effect is learnt from every measurement made with it: each batch of paired rounds (injected vs
// plain, any size of injection) adds to one fit of log-effect = k · ns through the origin, weighted
// by its precision — the large injections pin k down for the small ones — and the work for the
// next batch of an effect p is ln(1 + p) / k.
import { comparePairedSamples } from "../compare/samples.js";

export interface EffectStep {
  injectNs: number;
  /** mean per-round log ratio (positive = slower) and its standard error */
  logEffect: number;
  se: number;
  rounds: number;
}

export class EffectFit {
  readonly steps: EffectStep[] = [];
  private sxy = 0;
  private sxx = 0;

  /** `nominalNsPerPercent`: 1 % of the receiver's CPU time per packet, ns (the first guess) */
  constructor(readonly nominalNsPerPercent: number) {}

  /** A batch measured earlier (e.g. a previous collection's calibration.json). */
  addStep(step: EffectStep): void {
    this.steps.push(step);
    if (step.se > 0 && step.injectNs > 0 && Number.isFinite(step.logEffect)) {
      this.sxy += (step.injectNs * step.logEffect) / step.se ** 2;
      this.sxx += step.injectNs ** 2 / step.se ** 2;
    }
  }

  /** Paired values of one batch: plain[i] and injected[i] from the same round; `lowerIsBetter` for CPU per packet. */
  add(injectNs: number, plain: number[], injected: number[], lowerIsBetter: boolean): void {
    const c = comparePairedSamples(plain, injected, { higherIsBetter: !lowerIsBetter, targetPercent: 1 });
    if (c.ratio === null || c.ci === null || c.pairs === undefined) return;
    const logEffect = lowerIsBetter ? Math.log(c.ratio) : -Math.log(c.ratio);
    // CI = ratio · exp(± t · se); t ≈ 2 is close enough for a weight
    const se = Math.log(c.ci[1] / c.ci[0]) / 4;
    this.addStep({ injectNs, logEffect, se, rounds: c.pairs });
  }

  /** ns of work per ln-unit of effect fitted so far; null before any informative batch */
  get slope(): number | null {
    return this.sxx > 0 ? this.sxy / this.sxx : null;
  }

  /** Work for an effect of `percent` in the next batch, kept within 1/4 and 8 times the nominal work. */
  nsFor(percent: number): number {
    const k = this.slope;
    const nominal = this.nominalNsPerPercent * percent;
    if (k === null) return nominal;
    if (k <= 0) return nominal * 8;
    return Math.min(nominal * 8, Math.max(nominal / 4, Math.log1p(percent / 100) / k));
  }

  /** Effect the fit predicts for `ns`, percent. */
  predicted(ns: number): number | null {
    const k = this.slope;
    return k === null ? null : Math.expm1(k * ns) * 100;
  }
}
