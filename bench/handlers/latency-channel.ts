/**
 * The BroadcastChannel the latency handler reports on. Each post is a flat array of
 * pairs: [handledAtMs, latencyMs, handledAtMs, latencyMs, ...].
 */
export const LATENCY_CHANNEL = 'kvp-bench-latency'
