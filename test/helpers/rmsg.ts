import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs the real `rmsg` binary against an API; returns its exit code and output. */
export async function runRmsg(
  url: string,
  args: string[],
  token: string | undefined,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/rmsg.js', ...args], {
      env: { ...process.env, RMSG_API_URL: url, RMSG_API_TOKEN: token ?? '', RMSG_LOG_LEVEL: 'warn' },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
