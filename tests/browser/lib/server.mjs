// The real teamreg binary for browser tests: started on 127.0.0.1 port 0 with a fresh data dir,
// stopped by its PID when the test is done (and when this process exits, whatever the reason).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 25_000;
const LISTENING = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/;

// Servers still running when this process ends, however it ends, are killed by their PID.
const running = new Set();
function killRunning() {
  for (const child of running) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killRunning);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killRunning();
    process.kill(process.pid, signal);
  });
}

export function teamregBin() {
  const bin = process.env.TEAMREG_BIN;
  if (!bin) throw new Error('TEAMREG_BIN must name the teamreg binary (e.g. build/dev/teamreg)');
  return bin;
}

// This process's environment without TEAMREG_* settings a developer may have exported: each
// test says what it wants through arguments.
function serverEnvironment(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('TEAMREG_')) env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Starts `teamreg serve`. Options: args (extra flags), env (extra variables), rateLimit (default
 * 0 = off, so tests can register many teams). TEAMREG_DATABASE, when set, is passed as
 * --database (a postgresql:// URL of a database the test may fill; SQLite in the data dir
 * otherwise). Resolves to a Server once it printed `listening on http://HOST:PORT`.
 */
export async function startServer({ args = [], env = {}, rateLimit = 0 } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'teamreg-browser-'));
  const dataDir = join(root, 'data');
  const database = process.env.TEAMREG_DATABASE || null;
  const logPath = join(root, 'server.stderr.log');
  const command = ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'];
  if (database) command.push('--database', database);
  if (rateLimit !== null) command.push('--rate-limit', String(rateLimit));
  command.push(...args);

  const log = openSync(logPath, 'a');
  const child = spawn(teamregBin(), command, {
    env: serverEnvironment(env),
    stdio: ['ignore', 'pipe', log],
  });
  closeSync(log);
  running.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    running.delete(child);
    resolve({ code, signal });
  }));

  const server = new Server({ child, exited, root, dataDir, database, logPath });
  try {
    server.url = await waitForListening(child, exited, server);
  } catch (error) {
    await server.stop({ check: false });
    throw error;
  }
  return server;
}

function waitForListening(child, exited, server) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      reject(new Error(`no 'listening on' line within ${START_TIMEOUT_MS} ms\n${server.stderrTail()}`));
    }, START_TIMEOUT_MS);
    lines.on('line', (line) => {
      server.stdoutLines.push(line);
      const match = LISTENING.exec(line.trim());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`teamreg exited (code ${code}, signal ${signal}) before listening\n${server.stderrTail()}`));
    });
  });
}

export class Server {
  constructor({ child, exited, root, dataDir, database, logPath }) {
    this.child = child;
    this.pid = child.pid;
    this.exited = exited;
    this.root = root;
    this.dataDir = dataDir;
    this.database = database;
    this.logPath = logPath;
    this.stdoutLines = [];
    this.url = null;
  }

  /** The last bytes of the server's stderr (its log), for failure messages. */
  stderrTail(bytes = 4000) {
    try {
      const text = readFileSync(this.logPath, 'utf8');
      return `---- teamreg stderr (${this.logPath}) ----\n${text.slice(-bytes)}`;
    } catch {
      return '(no server log)';
    }
  }

  /** `--data-dir …` and `--database …` for CLI commands against this server's database. */
  databaseArgs() {
    const args = ['--data-dir', this.dataDir];
    if (this.database) args.push('--database', this.database);
    return args;
  }

  /**
   * SIGTERM to its PID, then SIGKILL if it has not exited within 25 s. With check (the default),
   * anything but exit code 0 throws, with the log tail. The data dir is removed unless
   * TEAMREG_BROWSER_KEEP=1 or the stop failed.
   */
  async stop({ check = true } = {}) {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      process.kill(this.pid, 'SIGTERM');
    }
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(resolve, STOP_TIMEOUT_MS, null); });
    let result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === null) {
      process.kill(this.pid, 'SIGKILL');
      result = await this.exited;
      if (check) throw new Error(`teamreg did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${this.stderrTail()}`);
    }
    if (check && result.code !== 0) {
      throw new Error(`teamreg exited with code ${result.code}, signal ${result.signal}\n${this.stderrTail()}`);
    }
    if (process.env.TEAMREG_BROWSER_KEEP !== '1') rmSync(this.root, { recursive: true, force: true });
  }
}

/** A new admin token from `teamreg admin token create` (the CLI prints only the token on stdout). */
export function createAdminToken(server, name = `browser-${process.pid}-${Date.now()}`) {
  const stdout = execFileSync(teamregBin(), ['admin', 'token', 'create', '--name', name, ...server.databaseArgs()], {
    env: serverEnvironment({}),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const token = stdout.trim();
  if (!/^[0-9a-f]{64}$/.test(token)) throw new Error(`admin token create printed ${JSON.stringify(stdout)}, not a token`);
  return token;
}

/** fetch() on the server with `Authorization: Bearer <token>`; resolves to {status, headers, body}. */
export async function adminGet(server, token, path) {
  const response = await fetch(server.url + path, { headers: { Authorization: `Bearer ${token}` } });
  const type = response.headers.get('content-type') || '';
  const body = type.includes('json') ? await response.json() : Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body };
}
