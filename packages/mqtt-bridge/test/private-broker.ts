import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Mosquitto of our own on a free loopback port, to stop and start in the middle of a test. */
export class PrivateBroker {
  readonly dir: string;
  readonly url: string;
  #process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly persistent: boolean,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'lwm2m-mosquitto-'));
    // Started as root, mosquitto drops to its own user and must still write its database here.
    chmodSync(this.dir, 0o777);
    this.url = `mqtt://127.0.0.1:${port}`;
    const config = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      `persistence ${persistent ? 'true' : 'false'}`,
      `persistence_location ${this.dir}/`,
      'log_dest none',
    ];
    writeFileSync(join(this.dir, 'mosquitto.conf'), config.join('\n') + '\n');
  }

  /** Fails (not skips) when mosquitto is not installed. */
  static async create(persistent: boolean): Promise<PrivateBroker> {
    const found = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
    if (found.status !== 0) throw new Error('mosquitto is not installed: the broker restart test needs it');
    const broker = new PrivateBroker(await freePort(), persistent);
    await broker.start();
    return broker;
  }

  async start(): Promise<void> {
    const child = spawn('mosquitto', ['-c', join(this.dir, 'mosquitto.conf')], { stdio: 'ignore' });
    this.#process = child;
    const end = Date.now() + 5000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`);
      if (await canConnect(this.port)) return;
      if (Date.now() > end) throw new Error('mosquitto did not start listening');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGTERM: mosquitto saves its sessions (when persistent) and exits. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
