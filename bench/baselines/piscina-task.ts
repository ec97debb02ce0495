/** Baseline task for piscina: echo. */
export default function echo(p: unknown): unknown {
  return p;
}
