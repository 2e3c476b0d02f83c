/**
 * Runs an app of this repository as a child process from its sources, as its tests need: started
 * with tsx, ready once it logs the line `ready` recognises, stopped with SIGTERM as a service
 * manager would. For tests only.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

/** One pino log entry of the app. */
export type LogEntry = Record<string, unknown> & { readonly msg?: string };

export interface StartAppOptions<T> {
  /** The app's folder (apps/<name>). */
  readonly appDir: string;
  /** Added to this process's environment. */
  readonly env: Record<string, string>;
  /** What a log entry says when the app is ready (its ports, say); undefined for other entries. */
  readonly ready: (entry: LogEntry) => T | undefined;
  /** How long to wait for that entry, ms. Default 20 s (tsx compiles first). */
  readonly timeout?: number;
}

export interface StartedApp<T> {
  readonly child: ChildProcess;
  /** What `ready` returned. */
  readonly ready: T;
}

/** Rejects with the app's output when it exits first or never logs the entry `ready` waits for. */
export function startApp<T>(options: StartAppOptions<T>): Promise<StartedApp<T>> {
  const child = spawn(
    join(options.appDir, '..', '..', 'node_modules', '.bin', 'tsx'),
    ['--conditions=@lwm2m/source', 'src/main.ts'],
    { cwd: options.appDir, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new Error(`no ready line within ${options.timeout ?? 20_000} ms: ${output}`));
    }, options.timeout ?? 20_000);
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (settled) return;
      for (const line of output.split('\n')) {
        let entry: LogEntry;
        try {
          entry = JSON.parse(line) as LogEntry;
        } catch {
          continue; // a partial or non-JSON line
        }
        const value = options.ready(entry);
        if (value !== undefined) {
          settled = true;
          clearTimeout(timer);
          resolve({ child, ready: value });
          return;
        }
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(Object.assign(new Error(`app exited with ${String(code)}`), { code, output }));
    });
  });
}

/** SIGTERM (tsx hands it on to the app); SIGKILL when it has not exited within 5 s. */
export async function stopApp(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
}
