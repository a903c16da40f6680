/** How long to wait before reconnect attempt `attempt` (1, 2, …): doubling, capped, jittered. */

export interface BackoffOptions {
  /** the first delay before jitter (ms) */
  initialMs?: number;
  /** the cap (ms) */
  maxMs?: number;
  /** a number in [0, 1): tests pass a fixed one */
  random?: () => number;
}

/**
 * `min(max, initial · 2^attempt)` scaled by a random factor in [0.5, 1): many services that
 * lost the control plane together do not all knock again at the same moment.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 250, maxMs = 30_000, random = Math.random } = options;
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt, 0), 16));
  return base * (0.5 + random() / 2);
}
