import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines in production (for log shippers), human-readable lines in development. */
// The two settings it reads, not the Config type: config.ts itself imports modules that log.
export function createLogger(config: { env: 'development' | 'production' | 'test'; logLevel: string }): Logger {
  const pretty = config.env === 'development';
  return pino({
    level: config.logLevel,
    base: { service: 'filo' },
    redact: {
      paths: [
        'req.headers.cookie',
        'req.headers.authorization',
        'res.headers["set-cookie"]',
        '*.password',
        '*.secretKey',
      ],
      censor: '[redacted]',
    },
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: {
              colorize: Boolean(process.stdout.isTTY),
              singleLine: true,
              translateTime: 'HH:MM:ss.l',
              ignore: 'pid,hostname,service',
            },
          },
        }
      : {}),
  });
}
