/** The figures `evaluate` reports: the same summary the metrics module computes. */
export type { MetricSummary } from '../metrics.js';
