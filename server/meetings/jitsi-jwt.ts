import { createHmac } from 'node:crypto';

export interface JitsiTokenUser {
  id?: string;
  name: string;
  email?: string | null;
  /** The host moderates the room (can mute others, end the call for all). */
  moderator: boolean;
}

export interface JitsiTokenInput {
  appId: string;
  secret: string;
  /** The Jitsi domain the token is for (`sub`). */
  domain: string;
  /** The one room the token opens. */
  room: string;
  user: JitsiTokenUser;
  /** How long the token lets its holder join. */
  ttlSeconds: number;
  now?: Date;
}

const base64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

/**
 * An HS256 JWT as Jitsi's token authentication (prosody `token` auth) reads it: `aud` "jitsi", `iss` the app id,
 * `sub` the domain, `room` the room name, `exp`, and the participant in `context.user`.
 */
export function signJitsiJwt(input: JitsiTokenInput): string {
  const iat = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const header = { alg: 'HS256', typ: 'JWT' };
  const payload = {
    aud: 'jitsi',
    iss: input.appId,
    sub: input.domain,
    room: input.room,
    iat,
    nbf: iat - 30,
    exp: iat + input.ttlSeconds,
    context: {
      user: {
        ...(input.user.id ? { id: input.user.id } : {}),
        name: input.user.name,
        ...(input.user.email ? { email: input.user.email } : {}),
        moderator: input.user.moderator,
      },
    },
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = createHmac('sha256', input.secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
