/** One benchmark figure, as `npm run bench -- --json FILE` writes it. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  better: 'higher' | 'lower';
  /** The figure we aim for (compare with `better`). */
  goal?: number;
  /** The same work done by the plain baseline, measured side by side in the same run. */
  baseline?: number;
  /** value ÷ baseline. */
  ratio?: number;
}
