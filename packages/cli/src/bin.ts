#!/usr/bin/env node
// The `c2w` command. `c2w run` needs Node flags for large emulator modules: re-run with them.
import { nodeFlagsMissing } from '@c2w/runtime-wasi';

const argv = process.argv.slice(2);
if (argv[0] === 'run' && nodeFlagsMissing().length > 0) {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    [...nodeFlagsMissing(), ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit' },
  );
  // The terminal's ^C reaches the child directly; other signals are forwarded.
  process.on('SIGINT', () => {});
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  const { main } = await import('./main.js');
  process.exitCode = await main(argv);
}
