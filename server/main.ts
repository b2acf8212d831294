import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import type { Filo } from './filo.ts';

const SHUTDOWN_DEADLINE_MS = 9_500;

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

// The application is loaded only once the configuration is known to be good: a bad one exits at once, however
// long loading every module would take on a busy machine.
const { startFilo } = await import('./filo.ts');
const log = createLogger(config);
let filo: Filo | undefined;
let stopRequested: NodeJS.Signals | undefined;
let stopping = false;

function exitSoon(code: number) {
  log.flush();
  process.exitCode = code;
  // Nothing left holding the event loop (a stray timer, a keep-alive socket) may keep us past the deadline.
  setTimeout(() => process.exit(code), 200).unref();
}

function shutdown(signal: NodeJS.Signals) {
  if (!filo) {
    // A signal during start-up: stop as soon as start-up has something to stop.
    stopRequested = signal;
    return;
  }
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  setTimeout(() => {
    log.error('shutdown took too long; exiting anyway');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS).unref();
  filo.stop().then(
    () => {
      log.info('stopped');
      exitSoon(0);
    },
    (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      exitSoon(1);
    },
  );
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// A forgotten promise (a side effect such as a publish) is a bug to log, not a reason to drop every user.
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));

try {
  filo = await startFilo(config, log);
  log.info({ roles: [...config.roles], http: filo.httpPort, smtp: filo.smtpPort }, 'Filo is up');
  if (stopRequested) shutdown(stopRequested);
} catch (err) {
  log.fatal({ err }, 'Filo failed to start');
  exitSoon(1);
}
