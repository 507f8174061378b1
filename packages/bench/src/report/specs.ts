// Vega-Lite specs for the report's charts; rendered to SVG at build time (render.ts).
import type { TopLevelSpec } from "vega-lite";
import type { Group, RatioRow } from "./data.js";

const WIDTH = 520;
const config = { font: "sans-serif", axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0 }, legend: { labelFontSize: 11, labelLimit: 0 } };

function unit(metric: string): string {
  return metric === "cpuNsPerPacket" ? "CPU ns per packet" : `${metric} (per second)`;
}

/** Median per kernel and receiver with the median's 95 % CI (order statistics) as bars. */
export function mediansSpec(g: Group): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `Median ${g.metric} per kernel and receiver — ${g.name}`, subtitle: "bars: 95 % confidence interval of the median (order statistics; min–max when runs are too few)" },
    width: WIDTH,
    config,
    data: { values: g.medians },
    encoding: {
      y: { field: "receiver", type: "nominal", title: "receiver" },
      yOffset: { field: "kernel", type: "nominal" },
      color: { field: "kernel", type: "nominal", title: "kernel" },
    },
    layer: [
      {
        mark: { type: "rule", strokeWidth: 2 },
        encoding: { x: { field: "lo", type: "quantitative", title: unit(g.metric), scale: { zero: false }, axis: { format: "~s" } }, x2: { field: "hi" } },
      },
      {
        mark: { type: "point", filled: true, size: 70 },
        encoding: {
          x: { field: "median", type: "quantitative" },
          tooltip: [{ field: "kernel" }, { field: "receiver" }, { field: "median", format: ",.0f" }, { field: "lo", format: ",.0f" }, { field: "hi", format: ",.0f" }, { field: "runs" }],
        },
      },
    ],
  };
}

/** The per-second samples of every run in run order, one panel per receiver: drift and in-run scatter. */
export function seriesSpec(g: Group): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `${g.metric === "cpuNsPerPacket" ? "CPU ns per packet" : `Per-second ${g.metric}`} of each run, in run order — ${g.name}` },
    config,
    data: { values: g.series },
    facet: { row: { field: "receiver", type: "nominal", title: null } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: WIDTH,
      height: 110,
      mark: { type: "line", point: { size: 24 }, strokeWidth: 1.2, opacity: 0.8 },
      encoding: {
        x: { field: "t", type: "quantitative", title: "run (interleaved order; samples spread across each run)", axis: { tickMinStep: 1, format: "d" } },
        y: { field: "value", type: "quantitative", title: unit(g.metric), scale: { zero: false }, axis: { format: "~s" } },
        color: { field: "kernel", type: "nominal", title: "kernel" },
        detail: { field: "run", type: "nominal" },
      },
    },
  };
}

// sort: null keeps comparison order (and stops vega-lite warning about layers with unsorted unions)
const rowOf = { y: { field: "label", type: "nominal", title: null, sort: null }, yOffset: { field: "head", type: "nominal", sort: null } } as const;

/** Ratio head/base of every comparison with its 95 % CI; the rule at 1 is "no difference". */
export function ratiosSpec(rows: RatioRow[], common: Record<string, unknown>): TopLevelSpec {
  const params = Object.entries(common).map(([k, v]) => `${k}=${v}`).join(" ");
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "Ratio head/base with 95 % CI (the table says which analysis each row used)",
      subtitle: [`an interval that crosses 1 is no detectable difference${params ? `; all rows: ${params}` : ""}`],
    },
    width: WIDTH,
    config,
    data: { values: rows },
    layer: [
      { data: { values: [{}] }, mark: { type: "rule", color: "#888", strokeDash: [4, 3] }, encoding: { x: { datum: 1 } } },
      {
        mark: { type: "rule", strokeWidth: 2 },
        encoding: {
          ...rowOf,
          x: { field: "lo", type: "quantitative", title: "ratio head/base", scale: { zero: false } },
          x2: { field: "hi" },
          color: { field: "verdict", type: "nominal", scale: { domain: ["faster", "slower", "no detectable difference"], range: ["#2a9d3c", "#d1342f", "#777"] } },
        },
      },
      {
        mark: { type: "point", filled: true, size: 70 },
        encoding: {
          ...rowOf,
          x: { field: "ratio", type: "quantitative" },
          color: { field: "verdict", type: "nominal" },
          shape: { field: "head", type: "nominal", title: "head / base" },
          tooltip: [{ field: "label" }, { field: "head" }, { field: "ratio", format: ".4f" }, { field: "lo", format: ".4f" }, { field: "hi", format: ".4f" }, { field: "verdict" }],
        },
      },
    ],
  };
}
