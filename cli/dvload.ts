#!/usr/bin/env node
/** The `dvload` command (package.json "bin"): runs the program on the command line and sets the exit code. */
import { CommanderError } from 'commander';
import { ApiError } from './apiClient';
import { createProgram } from './program';
import type { Io } from './output';

async function main(): Promise<number> {
  const io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
  const program = createProgram(io);
  try {
    await program.parseAsync(process.argv);
    return io.exitCode ?? 0;
  } catch (error) {
    // Help and version are "errors" to commander's exitOverride; their exit code is 0.
    if (error instanceof CommanderError) return error.exitCode;
    const json = program.opts<{ json?: boolean }>().json;
    const code = error instanceof ApiError ? error.code : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
    else process.stderr.write(`dvload: ${message} (${code})\n`);
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
