// The Prism mock exactly as people start it: `npm run mock` (with any extra arguments, e.g.
// --dynamic) on a free port given through MOCK_PORT. npm and the shell stand between us and
// Prism, so the mock runs in a process group of its own and is stopped as a group.
import { spawn } from 'node:child_process';
import { freePort } from './ports.js';

export interface Mock {
  url: string;
  close(): void;
}

export async function startMock(args: string[] = []): Promise<Mock> {
  const port = await freePort();
  const child = spawn('npm', ['run', '-s', 'mock', '--', ...args], {
    env: { ...process.env, MOCK_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const close = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Prism did not start:\n${output}`)), 45_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Prism is listening')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => reject(new Error(`Prism exited with ${code}:\n${output}`)));
    });
  } catch (error) {
    close();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, close };
}
