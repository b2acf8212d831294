/**
 * The first baseline for bench/smtp: a bare smtp-server that accepts every recipient and discards the message
 * (drains DATA, then 250). Same options as Filo's gateway where they matter (no AUTH, no STARTTLS, 25 MB, no
 * reverse lookup of the client, the 100 ms early-talker wait left on), and no logging.
 *   node bench/smtp/bare-smtp.ts [port=0]
 */
import { SMTPServer } from 'smtp-server';

const port = Number(process.argv[2] ?? 0);
const server = new SMTPServer({
  name: 'bare',
  banner: 'bare smtp-server',
  size: 25 * 1024 * 1024,
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  disableReverseLookup: true,
  socketTimeout: 60_000,
  closeTimeout: 5_000,
  onRcptTo(_address, _session, callback) {
    callback();
  },
  onData(stream, _session, callback) {
    stream.on('end', () => callback());
    stream.resume();
  },
});
server.on('error', (err) => console.error('bare smtp-server error:', err.message));
server.listen(port, '127.0.0.1', () => console.log(`listening ${(server.server.address() as { port: number }).port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
