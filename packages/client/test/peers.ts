import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createUdpSocket } from '@lwm2m/transport-coap';
import type { ClientTransport } from '../src/index.js';

/** Fails (never skips) when a peer binary is missing: CI installs libcoap3-bin. */
export function requireBinary(name: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (found.status !== 0)
    throw new Error(`${name} is not on PATH: install libcoap3-bin to run the interop tests`);
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, killing it after `timeoutMs`. */
export function run(
  command: string,
  args: readonly string[],
  timeoutMs: number,
  onStdout?: (chunk: string) => void,
): { done: Promise<RunResult>; child: ChildProcess } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<RunResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(chunk.toString());
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { done, child };
}

export function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** NoSec UDP on loopback: one fresh socket per server. */
export const udpTransport: ClientTransport = {
  connect: () => createUdpSocket({ address: '127.0.0.1', port: 0 }),
};
