// validate:stats analysis: split one long interleaved session into independent trials and count
// how often the compare method raises a false alarm (A vs A′) and detects an injected slowdown.
import { higherIsBetter, runValue, type MetricName } from "../compare/metric.js";
import { compareSamples } from "../compare/samples.js";
import { median } from "../stats/describe.js";
import { wilson } from "../stats/proportion.js";
import type { Run } from "../schema.js";

export interface SessionRuns {
  /** the reference side */
  a: Run[];
  /** the same configuration again: A/A */
  aa: Run[];
  /** injected slowdowns by percent */
  injected: Map<number, Run[]>;
}

export interface Rate {
  hits: number;
  trials: number;
  rate: number;
  ci: [number, number];
}

export interface MetricFigures {
  metric: MetricName;
  /** A vs A′: significant in either direction */
  falseAlarms: Rate;
  /** per injected percent: significant in the direction of the slowdown */
  detection: { percent: number; detected: Rate; wrongWay: number; measuredRatio: number | null; ci: [number, number] | null; medianRatio: number | null }[];
  /** median over A/A trials of the MDE with `roundsPerTrial` rounds per side */
  mdePerTrial: number | null;
  /** MDE of A vs A′ with every round pooled */
  mdePooled: number | null;
  /** runs per side that would resolve `targetPercent` at the noise seen (pooled) */
  runsForTarget: number | null;
  medianCv: number | null;
  /** runs left out because they have no positive value for the metric (e.g. no packets) */
  unusableRuns: number;
}

function rate(hits: number, trials: number): Rate {
  return { hits, trials, rate: trials ? hits / trials : 0, ci: wilson(hits, trials) };
}

function metricValues(runs: Run[], metric: MetricName): number[] {
  return runs.map((r) => runValue(r, metric)).filter((v): v is number => typeof v === "number");
}

function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i + size <= xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export function analyse(s: SessionRuns, metric: MetricName, roundsPerTrial: number, targetPercent: number): MetricFigures {
  const opts = { higherIsBetter: higherIsBetter(metric), targetPercent };
  const trialsA = chunks(s.a, roundsPerTrial);
  const trialsAA = chunks(s.aa, roundsPerTrial);
  let alarms = 0;
  let aaTrials = 0;
  const mdes: number[] = [];
  const cvs: number[] = [];
  trialsA.forEach((a, t) => {
    if (!trialsAA[t]) return;
    const c = compareSamples(metricValues(a, metric), metricValues(trialsAA[t], metric), opts);
    if (c.verdict === "no verdict") return;
    aaTrials++;
    if (c.significant) alarms++;
    if (c.mde !== null) mdes.push(c.mde);
    if (c.base.cv !== null) cvs.push(c.base.cv);
  });
  const detection = [...s.injected.entries()].map(([percent, runs]) => {
    let hits = 0;
    let wrong = 0;
    let n = 0;
    chunks(runs, roundsPerTrial).forEach((b, t) => {
      if (!trialsA[t]) return;
      const c = compareSamples(metricValues(trialsA[t], metric), metricValues(b, metric), opts);
      if (c.verdict === "no verdict") return;
      n++;
      if (c.verdict === "slower") hits++;
      if (c.verdict === "faster") wrong++;
    });
    const pooled = compareSamples(metricValues(s.a, metric), metricValues(runs, metric), opts);
    return { percent, detected: rate(hits, n), wrongWay: wrong, measuredRatio: pooled.ratio, ci: pooled.ci, medianRatio: pooled.medianRatio };
  });
  const pooled = compareSamples(metricValues(s.a, metric), metricValues(s.aa, metric), opts);
  return {
    metric,
    falseAlarms: rate(alarms, aaTrials),
    detection,
    mdePerTrial: mdes.length ? median(mdes) : null,
    mdePooled: pooled.mde,
    runsForTarget: pooled.runsFor?.runsPerSide ?? null,
    medianCv: cvs.length ? median(cvs) : null,
    unusableRuns: [s.a, s.aa, ...s.injected.values()].reduce((n, runs) => n + runs.length - metricValues(runs, metric).length, 0),
  };
}
