import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optionsFromArgs } from '../../../dev/emulator/cli';
import { resolveOptions } from '../../../dev/emulator/options';

describe('emulator CLI options', () => {
  test('flags override the config file, which overrides defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emu-cli-'));
    const config = join(dir, 'emulator.json');
    writeFileSync(
      config,
      JSON.stringify({
        port: 7000,
        dopHint: 8,
        limits: { concurrency: 10, timeScale: 2 },
        latency: { baseMs: 50, perTable: { accounts: { create: 3 } } },
      }),
    );
    const o = resolveOptions(
      optionsFromArgs([
        '--config',
        config,
        '--port',
        '7001',
        '--latency-per-operation-ms',
        '2',
        '--time-scale',
        '60',
        '--rate-503',
        '0.1',
        '--strict-auth',
      ]),
    );
    expect(o.port).toBe(7001);
    expect(o.dopHint).toBe(8);
    expect(o.strictAuth).toBe(true);
    expect(o.limits).toEqual({
      requestsPerWindow: 6000,
      executionMsPerWindow: 1_200_000,
      windowSeconds: 300,
      concurrency: 10,
      timeScale: 60,
      executeMultiplePerOrganization: 0,
    });
    expect(o.latency).toEqual({ baseMs: 50, perOperationMs: 2, perTable: { accounts: { create: 3 } } });
    expect(o.faults.rate503).toBe(0.1);
  });

  test('bad values and unknown flags are refused', () => {
    expect(() => optionsFromArgs(['--port', 'abc'])).toThrow('Not a number');
    expect(() => optionsFromArgs(['--max-batch-size', '5000'])).toThrow();
    expect(() => optionsFromArgs(['--frobnicate'])).toThrow();
  });
});
