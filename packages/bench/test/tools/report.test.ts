// `ringpoll report`: a self-contained page whose charts are drawn by a real browser (Debian's
// chromium, headless) with no network.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ringpoll } from "./cli.js";
import { noiseProfile, result, resultFile, sample, tmp, writeJson } from "./results.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);

let dir: string;
let html: string;
let files: string[];
// the two files stand for kernels recorded apart (one session each): a near-zero between-session
// noise profile lets the report give verdicts
let env: Record<string, string>;

beforeAll(() => {
  dir = tmp();
  const make = (kernel: string, seed: number, scale: number) =>
    resultFile(kernel, [
      result("epoll", sample(seed, 6, 1e6 * scale, 0.03)),
      result("uring", sample(seed + 1, 6, 1.6e6 * scale, 0.03)),
      result("epoll", sample(seed + 2, 6, 9e4 * scale, 0.03), { scenario: "udp-rr", params: { flows: 1000 } }),
    ]);
  files = [writeJson(dir, "6.19.json", make("6.19.0", 10, 1)), writeJson(dir, "7.0.json", make("7.0.0", 20, 1.08))];
  html = join(dir, "report.html");
  env = { RINGPOLL_NOISE_PROFILE: noiseProfile(dir) };
});

describe("report", () => {
  it("writes one self-contained page: inline SVG, no script, no external resource", () => {
    const r = ringpoll(["report", ...files, "--html", html, "--title", "6.19 vs 7.0"], env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const page = readFileSync(html, "utf8");
    expect(page).toMatch(/<title>6\.19 vs 7\.0<\/title>/);
    expect(page).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(page.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]+"/g, "")).not.toMatch(/https?:\/\//);
    // medians for pps and udp-rr, the ratios, the per-second series for both
    expect(page.match(/<figure id="[^"]+" class="chart"><svg /g)).toHaveLength(5);
    expect(page).toMatch(/7\.0\.0 is [\d.]+ % faster than 6\.19\.0/);
  });

  it("refuses files of another schema with exit 2", () => {
    const other = writeJson(dir, "other.json", { schema: "something.else" });
    const r = ringpoll(["report", files[0], other, "--html", join(dir, "x.html")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/other\.json: expected schema ringpoll\.bench\.v1 or ringpoll\.bench\.v2/);
    expect(existsSync(join(dir, "x.html"))).toBe(false);
  });
});

describe.skipIf(!hasChromium)(`report in headless Chromium (${CHROMIUM}; Debian package chromium)`, () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(html)) ringpoll(["report", ...files, "--html", html], env);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("draws every chart: visible SVGs with their points, error bars and lines, and fetches nothing", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    page.on("request", (req) => requests.push(req.url()));
    await page.goto(pathToFileURL(html).href);
    const charts = await page.$$eval("figure.chart", (figures) =>
      figures.map((f) => {
        const svg = f.querySelector("svg")!;
        const box = svg.getBoundingClientRect();
        const drawn = (sel: string) => [...svg.querySelectorAll(sel)].filter((e) => {
          const b = (e as SVGGraphicsElement).getBBox();
          return b.width > 0 || b.height > 0;
        }).length;
        return { id: f.id, width: box.width, height: box.height, points: drawn("g.role-mark.mark-symbol path"), rules: drawn("g.role-mark.mark-rule line"), lines: drawn("g.role-mark.mark-line path") };
      }),
    );
    expect(charts.map((c) => c.id)).toEqual(["medians-0", "medians-1", "ratios", "series-0", "series-1"]);
    for (const c of charts) {
      expect(c.width, c.id).toBeGreaterThan(300);
      expect(c.height, c.id).toBeGreaterThan(100);
    }
    const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
    // one point and one CI bar per kernel × receiver
    expect(byId["medians-0"]).toMatchObject({ points: 4, rules: 4 });
    expect(byId["medians-1"]).toMatchObject({ points: 2, rules: 2 });
    // three comparisons: CI bar + point each, and the rule at 1
    expect(byId.ratios).toMatchObject({ points: 3, rules: 3 + 1 });
    // 6 runs × 2 kernels per receiver, one line each
    expect(byId["series-0"].lines).toBe(24);
    expect(requests).toEqual([pathToFileURL(html).href]);
    await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
    expect(readFileSync(join(dir, "report.png")).subarray(1, 4).toString()).toBe("PNG");
    await page.close();
  });
});
