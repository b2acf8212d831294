/** Polls `fn` every `every` ms until it answers a value (a throw counts as not yet), or fails after `ms`. */
export async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>, every = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
