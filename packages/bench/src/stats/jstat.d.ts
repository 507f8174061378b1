// The part of jstat (no bundled types) that bench/stats uses.
declare module "jstat" {
  interface Distribution {
    cdf(x: number, ...params: number[]): number;
    inv(p: number, ...params: number[]): number;
  }
  const jStat: {
    studentt: Distribution;
    normal: Distribution;
    median(values: number[]): number;
    mean(values: number[]): number;
    variance(values: number[], sample?: boolean): number;
  };
  export default jStat;
}
