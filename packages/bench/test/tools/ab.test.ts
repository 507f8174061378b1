// `ringpoll ab`: the stopping rule (precision, rounds, budget) and bad input, without the engine.
import { describe, expect, it } from "vitest";
import { halfWidthPercent, stopReason } from "../../src/ab/loop.js";
import { ringpoll } from "./cli.js";

const opts = { minRounds: 5, maxRounds: 50, halfWidthPercent: 1, budgetSeconds: 100 };

describe("ab stopping rule", () => {
  it("measures the half-width on the log scale", () => {
    expect(halfWidthPercent([1 / 1.02, 1.02])).toBeCloseTo(2, 10);
    expect(halfWidthPercent([0.99, 1.03])).toBeCloseTo((Math.sqrt(1.03 / 0.99) - 1) * 100, 10);
  });

  it("goes on until min rounds even when the CI is already narrow", () => {
    expect(stopReason({ rounds: 3, seconds: 10, halfWidth: 0.5 }, 3, opts)).toBeNull();
    expect(stopReason({ rounds: 5, seconds: 10, halfWidth: 0.5 }, 3, opts)).toMatch(/half-width 0\.50 % reached the target 1 %/);
  });

  it("goes on while the CI is wider than the target, within rounds and budget", () => {
    expect(stopReason({ rounds: 10, seconds: 30, halfWidth: 3 }, 3, opts)).toBeNull();
    expect(stopReason({ rounds: 10, seconds: 30, halfWidth: null }, 3, opts)).toBeNull();
  });

  it("stops at the round limit and before a round that would overrun the budget", () => {
    expect(stopReason({ rounds: 50, seconds: 30, halfWidth: 3 }, 0.6, opts)).toMatch(/round limit 50/);
    expect(stopReason({ rounds: 20, seconds: 98, halfWidth: 3 }, 4.9, opts)).toMatch(/time budget 100 s/);
  });
});

describe("ab sides", () => {
  it("refuses unknown receivers and keys, and injection into JS receivers, with exit 2", () => {
    let r = ringpoll(["ab", "--a", "receiver=nope"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Expected one of recvmmsg, .* for --a receiver but received nope/);
    r = ringpoll(["ab", "--b", "colour=red"]);
    expect(r).toMatchObject({ status: 2, stderr: expect.stringMatching(/Expected receiver or inject as keys of --b but received colour/) });
    r = ringpoll(["ab", "--a", "receiver=dgram", "--b", "inject=5"]);
    expect(r).toMatchObject({ status: 2, stderr: expect.stringMatching(/inject works in native receivers only/) });
    r = ringpoll(["ab", "--min-rounds", "10", "--max-rounds", "5"]);
    expect(r).toMatchObject({ status: 2, stderr: expect.stringMatching(/--min-rounds \(10\) no larger than --max-rounds \(5\)/) });
    r = ringpoll(["ab", "--half-width", "0"]);
    expect(r).toMatchObject({ status: 2, stderr: expect.stringMatching(/positive percentage below 100 for --half-width but received 0/) });
  });
});
