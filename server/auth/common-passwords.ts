/**
 * Passwords of eight or more characters that top every leaked-password list (and their Italian favourites):
 * the first ones a guesser tries, so never accepted. Compared lower-cased.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  `password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword 12345678 123456789 1234567890
  0123456789 12341234 11111111 00000000 88888888 99999999 12121212 87654321 11223344 1q2w3e4r 1q2w3e4r5t 1qaz2wsx
  zaq12wsx zaq1zaq1 qazwsxedc q1w2e3r4 q1w2e3r4t5 qwertyui qwertyuiop qwerty12 qwerty123 qwerty1234 asdfghjk
  asdfghjkl asdf1234 asdfasdf zxcvbnm1 zxcvbnm123 abcd1234 abc12345 abc123456 abcdefgh 1234abcd 1234qwer qwer1234
  iloveyou iloveyou1 sunshine princess football baseball welcome1 welcome123 trustno1 superman starwars whatever
  computer michelle jennifer corvette mercedes liverpool chelsea1 charlie1 letmein1 letmein123 changeme changeme1
  admin123 administrator dragon12 monkey12 master12 shadow12 football1 baseball1 jordan23 michael1 fuckyou1
  internet samsung1 pokemon1 babygirl1 blink182 cookie123 hello123 hello1234 default1 secret12 secret123 test1234
  testtest 1111111111 123123123 123qweasd qweasdzxc 7777777 a1b2c3d4 aa123456 password! benvenuto juventus
  juventus1 forzainter forzamilan forzaroma forzanapoli ciao1234 ciaociao napoli123 francesco alessandro giuseppe
  antonio1 cristina federica valentina martina1 mariarosa amoremio tiamo123 tiamotanto 1a2b3c4d4e`.split(/\s+/),
);

/** Why a new password cannot be used, or null. */
export function weakPassword(password: string, email?: string): string | null {
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'is one of the most common passwords: choose another';
  if (/^(.)\1+$/.test(password)) return 'is one character repeated: choose another';
  if (email && (lower === email.toLowerCase() || lower === email.toLowerCase().split('@')[0]))
    return 'must not be your email address';
  return null;
}
