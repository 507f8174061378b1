// The host's noise profile from A/A sessions: for every result (scenario, receiver, params) and metric
// present in at least two sessions, the within- and between-session variance of the logs.
import { paramsKey, resultKey } from "./match.js";
import { BadInput, type LoadedFile } from "./input.js";
import { cpuOf } from "./files.js";
import { headlineMetric, runValue, type MetricName } from "./metric.js";
import { PROFILE_SCHEMA, thisHost, type NoiseProfile, type ProfileEntry } from "./profile.js";
import { varianceComponents } from "../stats/sessions.js";

export function buildProfile(files: readonly LoadedFile[], now = new Date()): NoiseProfile {
  // key → session id → logs per metric
  const groups = new Map<string, { scenario: string; receiver: string; params: Record<string, unknown>; sessions: Map<string, Map<MetricName, number[]>> }>();
  for (const f of files) {
    const session = f.data.session?.id ?? `file ${f.path}`;
    for (const r of f.data.results) {
      const key = resultKey(r);
      const g = groups.get(key) ?? { scenario: r.scenario, receiver: r.receiver, params: r.params, sessions: new Map() };
      groups.set(key, g);
      const logs = g.sessions.get(session) ?? new Map<MetricName, number[]>();
      g.sessions.set(session, logs);
      for (const metric of [headlineMetric(r.scenario), "cpuNsPerPacket"] as const) {
        const list = logs.get(metric) ?? [];
        logs.set(metric, list);
        for (const run of r.runs) {
          const v = run && typeof run === "object" ? runValue(run, metric) : null;
          if (typeof v === "number") list.push(Math.log(v));
        }
      }
    }
  }
  const entries: ProfileEntry[] = [];
  for (const g of groups.values()) {
    for (const metric of [headlineMetric(g.scenario), "cpuNsPerPacket"] as const) {
      const sessions = [...g.sessions.values()].map((m) => m.get(metric) ?? []).filter((x) => x.length >= 2);
      if (sessions.length < 2) continue;
      const c = varianceComponents(sessions);
      entries.push({ scenario: g.scenario, receiver: g.receiver, params: g.params, metric, within: c.within, between: c.between, dfBetween: c.dfBetween, sessions: c.sessions, runs: c.runs });
    }
  }
  if (entries.length === 0) {
    const counts = [...groups.values()].map((g) => `${g.scenario} ${g.receiver} ${paramsKey(g.params)}: ${g.sessions.size}`).join("; ");
    throw new BadInput(`a noise profile needs the same result in at least two sessions with two runs each (sessions per result: ${counts || "none"})`);
  }
  const first = files[0];
  const env = first.data.env as { kernel?: { release?: string }; nproc?: number };
  return {
    schema: PROFILE_SCHEMA,
    createdAt: now.toISOString(),
    host: thisHost(cpuOf(first), env.kernel?.release ?? null, typeof env.nproc === "number" ? env.nproc : null),
    files: files.map((f) => f.path),
    entries,
  };
}
