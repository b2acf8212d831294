/**
 * A name server on loopback UDP for tests and benches: it answers, authoritatively, the records it is given and
 * NXDOMAIN for every other name, over the real DNS wire format (dns-packet), so that Filo's own resolver (c-ares,
 * through `DNS_SERVERS`) is what asks it. It counts the questions it was asked.
 */
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface DnsServer {
  /** `127.0.0.1:<port>`, as `DNS_SERVERS` takes it. */
  address: string;
  /** The questions asked so far, as `TYPE name`. */
  asked: string[];
  /** Sets (or replaces) the TXT strings of a name; an empty list removes the name again. */
  txt(name: string, values: string[]): void;
  close(): Promise<void>;
}

/** `txtOf`: TXT strings for names not set with `txt()` (a bench's thousands of domains), or undefined: NXDOMAIN. */
export async function startDnsServer(
  opts: { txtOf?: (name: string) => string[] | undefined } = {},
): Promise<DnsServer> {
  const txt = new Map<string, string[]>();
  const asked: string[] = [];
  const socket: Socket = createSocket('udp4');
  socket.on('message', (message, remote) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return; // not DNS: dropped, as a server would
    }
    const question = query.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    asked.push(`${question.type} ${name}`);
    const values = txt.get(name) ?? opts.txtOf?.(name);
    const answers: dnsPacket.Answer[] =
      values && question.type === 'TXT'
        ? values.map((data) => ({ type: 'TXT', name: question.name, ttl: 60, data }))
        : [];
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      // authoritative; RCODE 3 (NXDOMAIN) for a name it does not hold, NOERROR with no answer for another type
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (values ? 0 : 3),
      questions: [question],
      answers,
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return {
    address: `127.0.0.1:${socket.address().port}`,
    asked,
    txt(name, values) {
      const key = name.toLowerCase().replace(/\.$/, '');
      if (values.length) txt.set(key, values);
      else txt.delete(key);
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
