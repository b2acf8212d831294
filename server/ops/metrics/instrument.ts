import type { Publisher } from '../../timeline/publisher.ts';
import type { Services } from '../../services.ts';
import type { FiloMetrics } from './metrics.ts';

/** The publisher, each event counted by its kind (the Publisher's method names: a fixed set). */
export function countedPublisher(inner: Publisher, metrics: FiloMetrics): Publisher {
  return new Proxy(inner, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      return (...args: unknown[]) => {
        metrics.published(key);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** The recording hooks of the services this process runs: inbound lag, bulk outcomes, 1:1 sends, credentials. */
export function instrumentServices(metrics: FiloMetrics, services: Services): void {
  services.sessions.onLookup = (source) => metrics.credentialLookups.inc({ kind: 'session', source });
  services.tokens.onLookup = (source) => metrics.credentialLookups.inc({ kind: 'token', source });
  services.inbound.onProcessed = (seconds) => metrics.inboundLag.observe(seconds);
  services.bulk.dispatcher.onOutcome = (status) => metrics.sent('bulk', status);
  services.outbound.onSent = (result) => metrics.sent('direct', result);
}
