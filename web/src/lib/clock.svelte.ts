/** A shared minute clock, so that "5 minutes ago" and "Today 10:30" stay true on a page left open. */
class Clock {
  #now = $state(Date.now());
  #started = false;

  /** The current time in ms; reading it in a template re-renders it every minute. */
  get now(): number {
    if (!this.#started) {
      this.#started = true;
      setInterval(() => (this.#now = Date.now()), 60_000);
    }
    return this.#now;
  }
}

export const clock = new Clock();
