// A password for the command line comes from standard input (--password-stdin) or from a
// prompt that does not echo it; never from an argument, which shell history and `ps` keep.
import { OperationFailed, UsageError } from './command.js';

/** Everything on `stdin`, without the final line break `echo` or a here-string adds. */
export async function readPasswordFromStdin(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks for a password on the terminal without echoing it; the prompt goes to `out`. */
export function promptPassword(stdin: NodeJS.ReadStream, out: NodeJS.WritableStream, question: string): Promise<string> {
  out.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      out.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          return resolve(value);
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          return reject(new OperationFailed('cancelled'));
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The new password for a command: --password-stdin, or asked twice on a terminal (prompts on `out`). */
export async function newPassword(stdin: NodeJS.ReadStream, out: NodeJS.WritableStream, fromStdin: boolean, path: string): Promise<string> {
  if (fromStdin) {
    // On a terminal, stdin would echo the password as it is typed and keep it on screen.
    if (stdin.isTTY) throw new UsageError('--password-stdin reads the password from a pipe or file, and standard input is a terminal: leave the option out to be asked for it without echo', path);
    return readPasswordFromStdin(stdin);
  }
  if (!stdin.isTTY) {
    throw new UsageError('no password: pipe it with --password-stdin, or run in a terminal to be asked for it', path);
  }
  const first = await promptPassword(stdin, out, 'Password: ');
  const again = await promptPassword(stdin, out, 'Password (again): ');
  if (first !== again) throw new OperationFailed('the two passwords differ');
  return first;
}
