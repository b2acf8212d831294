/**
 * Asks /healthz back to back (a pause of 50 ms between answers) until stopped: the slowest round in ms, pause
 * deducted. A whole round is timed, pause included: Filo may run in the test's process, so a freeze that starts
 * during the pause delays the timer itself and must count too.
 */
export function pollHealth(baseUrl: string) {
  let running = true;
  let slowest = 0;
  let answers = 0;
  const failures: string[] = [];
  const loop = (async () => {
    let started = performance.now();
    while (running) {
      try {
        const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(60_000) });
        await res.arrayBuffer();
        if (res.status !== 200) failures.push(`status ${res.status}`);
        answers++;
      } catch (err) {
        failures.push(String(err));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = performance.now();
      slowest = Math.max(slowest, now - started - 50);
      started = now;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { slowest, answers, failures };
    },
  };
}
