import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { ImapFlow } from 'imapflow';
import { freePort } from '../../db/embedded.ts';

export interface DovecotUser {
  user: string;
  password: string;
}

export interface Dovecot {
  host: string;
  port: number;
  /** The folder holding each user's Maildir (`<dir>/mail/<user>`). */
  dir: string;
  addUser(user: string, password: string): void;
  /** A logged-in IMAP client of this server (another mail program, for the tests); logs out with `logout()`. */
  client(user: DovecotUser): Promise<ImapFlow>;
  /** The server's log so far (for a failing test's message). */
  log(): string;
  stop(): Promise<void>;
}

const DOVECOT = '/usr/sbin/dovecot';

/** The uid/gid that owns the mail: the `dovecot` system user when running as root, else ourselves. */
function mailOwner(): { uid: number; gid: number; internal: string; login: string } {
  const me = userInfo();
  if (me.uid !== 0) return { uid: me.uid, gid: me.gid, internal: me.username, login: me.username };
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const entry = (name: string) =>
    passwd
      .split('\n')
      .find((l) => l.startsWith(`${name}:`))
      ?.split(':');
  const dovecot = entry('dovecot');
  if (!dovecot) throw new Error('no dovecot system user: install dovecot-imapd');
  return {
    uid: Number(dovecot[2]),
    gid: Number(dovecot[3]),
    internal: 'dovecot',
    login: entry('dovenull') ? 'dovenull' : 'dovecot',
  };
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`dovecot exited ${child.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('* OK'));
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`dovecot did not listen on ${port}: ${log()}`);
}

/**
 * A real Dovecot IMAP server (IDLE, CONDSTORE, QRESYNC) on a free loopback port, with its own configuration,
 * passwd-file authentication in plain text (no TLS: loopback only) and Maildirs in a temporary folder.
 */
export async function startDovecot(users: DovecotUser[] = []): Promise<Dovecot> {
  const dir = mkdtempSync(join(tmpdir(), 'filo-dovecot-'));
  const port = await freePort();
  const owner = mailOwner();
  // Dovecot's own users read the configuration and passwd file and write the mail.
  chmodSync(dir, 0o755);
  for (const sub of ['run', 'state', 'mail']) mkdirSync(join(dir, sub), { recursive: true });
  chownSync(join(dir, 'mail'), owner.uid, owner.gid);
  const passwdFile = join(dir, 'passwd');
  const lines: string[] = [];
  const addUser = (user: string, password: string) => {
    if (!/^[\w.@+-]+$/.test(user) || /[:\n]/.test(password)) throw new Error(`unusable test user ${user}`);
    lines.push(`${user}:{PLAIN}${password}`);
    // Written aside and renamed: a login at this moment reads the old file or the new one, never half of one.
    writeFileSync(`${passwdFile}.new`, lines.join('\n') + '\n', { mode: 0o644 });
    renameSync(`${passwdFile}.new`, passwdFile);
  };
  writeFileSync(passwdFile, '', { mode: 0o644 });
  for (const u of users) addUser(u.user, u.password);
  const logFile = join(dir, 'dovecot.log');
  const config = `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${logFile}
instance_name = filo-test-${port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_cache_size = 0
default_internal_user = ${owner.internal}
default_login_user = ${owner.login}
first_valid_uid = 0
mail_location = maildir:${dir}/mail/%u
mail_uid = ${owner.uid}
mail_gid = ${owner.gid}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${passwdFile}
}
userdb {
  driver = static
  args = uid=${owner.uid} gid=${owner.gid} home=${dir}/mail/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  process_min_avail = 1
}
service imap {
  process_limit = 1024
}
service auth {
  client_limit = 4096
}
service anvil {
  chroot =
  client_limit = 4096
}
service stats {
  inet_listener http {
    port = 0
  }
}
mail_max_userip_connections = 1000
protocol imap {
  mail_max_userip_connections = 1000
  imap_idle_notify_interval = 2 mins
}
`;
  const configFile = join(dir, 'dovecot.conf');
  writeFileSync(configFile, config);
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  let stderr = '';
  const child = spawn(DOVECOT, ['-F', '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitForPort(port, child, () => stderr + log());
  return {
    host: '127.0.0.1',
    port,
    dir,
    addUser,
    log: () => stderr + log(),
    async client(user) {
      const c = new ImapFlow({
        host: '127.0.0.1',
        port,
        secure: false,
        auth: { user: user.user, pass: user.password },
        logger: false,
      });
      await c.connect();
      return c;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
