import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The environment of the gateway's PROXY protocol (spread into config's schema). Behind a TCP balancer that connects
 * from its own address, every session would look like the balancer's: SPF would judge the balancer, and the per-address
 * limits would count every sender as one. With the balancers' addresses listed, a connection from one of them must
 * open with a PROXY v1 header naming the real client; connections from elsewhere are taken as they come (a client
 * cannot claim another address by sending the header itself).
 */
export const smtpProxyEnv = {
  SMTP_PROXY_FROM: z
    .string()
    .default('')
    .transform((raw, ctx) => {
      const list = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const ip of list)
        if (!isIP(ip))
          ctx.addIssue({ code: 'custom', message: `"${ip}" is not an IP address (a comma-separated list)` });
      return list;
    }),
};

type Parsed = { [K in keyof typeof smtpProxyEnv]: z.output<(typeof smtpProxyEnv)[K]> };

/** The balancers' addresses whose connections carry a PROXY header: `config.smtp.proxyFrom` (empty: none). */
export const smtpProxyConfig = (e: Parsed): string[] => e.SMTP_PROXY_FROM;
