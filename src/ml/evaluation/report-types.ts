/** The figures `evaluate` reports (the --json document's building blocks). */

/** Mean proper scores over n matches. */
export interface MetricSummary {
  n: number;
  rps: number;
  logLoss: number;
  brier: number;
  accuracy: number;
  ece: number;
}
