// The end-of-run table for `bench http`: one block per case, one row per server, ratios against node.
import { median } from "../stats/describe.js";
import type { Run, ScenarioResult } from "../schema.js";

function med(runs: Run[], pick: (r: Run) => unknown): number | null {
  const v = runs.map(pick).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
}

function us(v: number | null): string {
  if (v === null) return "–";
  return v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`;
}

function percent(v: number | null): string {
  return v === null ? "–" : `${(v * 100).toFixed(0)} %`;
}

function ratio(a: number | null, b: number | null): string {
  return a === null || b === null || b === 0 ? "–" : (a / b).toFixed(2);
}

/** The kernel's share of the server's CPU time (system / (user + system)), median over runs. */
function kernelShare(runs: Run[]): string {
  const share = med(runs, (x) => {
    const u = x.extra?.userNsPerRequest;
    const k = x.extra?.sysNsPerRequest;
    return typeof u === "number" && typeof k === "number" && u + k > 0 ? k / (u + k) : null;
  });
  return share === null ? "–" : `${(share * 100).toFixed(0)} %`;
}

/** `unit`: what one request is called (tcp-rr: "txn", a transaction; in churn, a connection) */
export function formatHttpTable(results: ScenarioResult[], baseline: string, unit = "req"): string {
  // tcp-rr's client also reports its own CPU and the server's run-queue wait: a server neither busy
  // nor waiting for a CPU (other processes had it) waited for the client
  const client = results.some((r) => r.runs.some((x) => typeof x.extra?.clientBusy === "number"));
  const head = ["server", `${unit}/s`, "cv", "min–max", `× ${baseline}`, "p50", "p99", `p99 × ${baseline}`, `cpu/${unit}`, `cpu × ${baseline}`, "kernel", ...(client ? ["srv busy", "srv wait", "cli busy"] : ["busy"]), "rss", "errors", `sys/${unit}`];
  const blocks: string[][][] = [];
  const groups = new Map<string, ScenarioResult[]>();
  for (const r of results) {
    const k = JSON.stringify(r.params);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const rows: string[][] = [];
  for (const group of groups.values()) {
    const p = group[0]!.params;
    const base = group.find((r) => r.receiver === baseline);
    const baseCpu = base ? med(base.runs, (r) => r.cpuNsPerPacket) : null;
    const baseP99 = base ? med(base.runs, (r) => r.extra?.p99Us) : null;
    const block = [[`${p.mode} ${p.connections} conn, ${p.body} B body`, ...head.slice(1).map(() => "")]];
    for (const r of group) {
      const vals = r.runs.map((x) => x.tps ?? 0);
      const cpu = med(r.runs, (x) => x.cpuNsPerPacket);
      const p99 = med(r.runs, (x) => x.extra?.p99Us);
      const rss = med(r.runs, (x) => x.extra?.rssKiB);
      const busy = med(r.runs, (x) => x.receiverBusy);
      const errors = r.runs.reduce((s, x) => s + Number(x.extra?.socketErrors ?? 0) + Number(x.extra?.non2xx ?? 0), 0);
      block.push([
        `  ${r.receiver}`,
        r.summary.median.toFixed(0),
        `${(r.summary.cv * 100).toFixed(1)} %`,
        `${Math.min(...vals).toFixed(0)}–${Math.max(...vals).toFixed(0)}`,
        base ? ratio(r.summary.median, base.summary.median) : "–",
        us(med(r.runs, (x) => x.extra?.p50Us)),
        us(p99),
        ratio(p99, baseP99),
        cpu === null ? "–" : us(cpu / 1000),
        ratio(cpu, baseCpu),
        kernelShare(r.runs),
        percent(busy),
        ...(client ? [percent(med(r.runs, (x) => x.extra?.serverWait)), percent(med(r.runs, (x) => x.extra?.clientBusy))] : []),
        rss === null ? "–" : `${(rss / 1024).toFixed(0)} MiB`,
        String(errors),
        typeof r.diagnostics?.syscallsPerRequest === "number" ? r.diagnostics.syscallsPerRequest.toFixed(2) : "–",
      ]);
    }
    blocks.push(block);
    rows.push(...block);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 0 && r[1] === "" ? 0 : r[i]!.length))));
  const line = (cells: string[]): string =>
    cells[1] === "" ? cells[0]! : cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...blocks.flatMap((b) => b.map(line))].join("\n");
}
