import { createRequire } from 'node:module';
import type { createClient } from 'redis';

// Required on first use: the client is most of a second of CPU at every start, and most nodes have no REDIS_URL.
const newClient = (url: string) =>
  (createRequire(import.meta.url)('redis') as { createClient: typeof createClient }).createClient({
    url,
    disableOfflineQueue: true,
  });
type Client = ReturnType<typeof newClient>;
import type { Logger } from '../logger.ts';
import { FixedWindows, tooMany } from '../http/rate-limit.ts';

const WINDOW_MS = 60_000;

/**
 * Requests per minute of each API token, in fixed windows. With Redis the count is shared by every node (INCR on
 * the window's key); without it, or while Redis is away, each process counts its own share.
 */
export class TokenRateLimiter {
  readonly #local = new FixedWindows(WINDOW_MS);
  readonly #redisUrl: string | undefined;
  readonly #log: Logger | undefined;
  #client: Client | undefined;
  #connecting: Promise<unknown> | undefined;

  constructor(redisUrl?: string, log?: Logger) {
    this.#redisUrl = redisUrl;
    this.#log = log;
  }

  /** Counts one request of the token; throws 429 `token_rate_limited` (with Retry-After) once over `limit`. */
  async hit(tokenId: string, limit: number): Promise<void> {
    const counted = (await this.#shared(tokenId)) ?? this.#own(tokenId);
    if (counted.count > limit)
      throw tooMany(
        counted.remainingMs,
        'token_rate_limited',
        (s) => `This API token made more than ${limit} requests this minute: try again in ${s} s`,
      );
  }

  #own(tokenId: string): { count: number; remainingMs: number } {
    const entry = this.#local.current(tokenId);
    entry.count++;
    return { count: entry.count, remainingMs: this.#local.remainingMs(entry) };
  }

  async #shared(tokenId: string): Promise<{ count: number; remainingMs: number } | undefined> {
    if (this.#redisUrl && !this.#client?.isReady) await this.ready();
    const client = this.#connected();
    if (!client) return undefined;
    const now = Date.now();
    const start = now - (now % WINDOW_MS);
    const key = `filo:token-rate:${tokenId}:${start}`;
    try {
      const [count] = await client
        .multi()
        .incr(key)
        .pExpire(key, WINDOW_MS * 2)
        .exec();
      return { count: Number(count), remainingMs: start + WINDOW_MS - now };
    } catch (err) {
      this.#log?.warn({ err }, 'token rate limit: redis unavailable, counting in this process');
      return undefined;
    }
  }

  // Connects on first use; until ready (or while Redis is away) the caller counts in process.
  #connected(): Client | undefined {
    if (!this.#redisUrl) return undefined;
    if (!this.#client) {
      const client = newClient(this.#redisUrl);
      client.on('error', (err: Error) => this.#log?.warn({ err }, 'token rate limit: redis connection error'));
      this.#client = client;
      this.#connecting = client.connect().catch(() => undefined);
    }
    return this.#client.isReady ? this.#client : undefined;
  }

  /** Waits for the first connection (tests and start-up), so that the first requests are counted cluster-wide. */
  async ready(): Promise<void> {
    this.#connected();
    // At most a few seconds: a Redis that does not answer leaves each node counting its own share.
    await Promise.race([this.#connecting, new Promise((r) => setTimeout(r, 3_000).unref())]);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    await Promise.race([client.close(), new Promise((r) => setTimeout(r, 1_000).unref())]).catch(() => undefined);
    client.destroy();
  }
}
