import { z } from 'zod';
import { parseOutboundHosts } from '../net/http-target.ts';

const whole = (min: number, max: number, fallback: number) =>
  z.coerce.number({ message: 'must be a whole number' }).int().min(min).max(max).default(fallback);

/** The environment of the event feed, outbound webhooks and the outbound HTTP guard (spread into config's schema). */
export const webhooksEnv = {
  /** Milliseconds between a worker's sweeps of the event feed for what other nodes wrote. */
  FEED_SWEEP_MS: whole(50, 600_000, 2_000),
  /** Hosts (name, address or CIDR, each optionally with :port) off the public internet that outbound HTTP may reach. */
  OUTBOUND_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((raw, ctx) => {
      const { entries, invalid } = parseOutboundHosts(raw);
      if (invalid.length) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma-separated list of host[:port] (not: ${invalid.join(', ')})`,
        });
        return z.NEVER;
      }
      return entries;
    }),
  /** Milliseconds before a webhook's first retry (then doubling, with jitter, up to an hour). */
  WEBHOOK_RETRY_BASE_MS: whole(10, 3_600_000, 30_000),
  /** Seconds a delivery is retried for before it fails for good (a day). */
  WEBHOOK_RETRY_WINDOW_SECONDS: whole(1, 7 * 86_400, 86_400),
  /** Consecutive failed deliveries after which a subscription is disabled and its owner notified. */
  WEBHOOK_DISABLE_AFTER: whole(1, 10_000, 50),
  /** Milliseconds a webhook receiver has to answer. */
  WEBHOOK_TIMEOUT_MS: whole(100, 60_000, 10_000),
};

export interface WebhooksConfig {
  feedSweepMs: number;
  allowedHosts: string[];
  retryBaseMs: number;
  retryWindowSeconds: number;
  disableAfter: number;
  timeoutMs: number;
}

type Parsed = { [K in keyof typeof webhooksEnv]: z.output<(typeof webhooksEnv)[K]> };

export const webhooksConfig = (e: Parsed): WebhooksConfig => ({
  feedSweepMs: e.FEED_SWEEP_MS,
  allowedHosts: e.OUTBOUND_ALLOWED_HOSTS,
  retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
  retryWindowSeconds: e.WEBHOOK_RETRY_WINDOW_SECONDS,
  disableAfter: e.WEBHOOK_DISABLE_AFTER,
  timeoutMs: e.WEBHOOK_TIMEOUT_MS,
});
