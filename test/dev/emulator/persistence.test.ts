import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../../../dev/emulator/index';
import { auth, until } from './testRoute';

describe('emulator persistence', () => {
  test('records survive a restart through persistPath (saved on close, loaded at start)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'emu-persist-')), 'state.json');
    const first = await startEmulator({ persistPath: path });
    const created = await fetch(`${first.webApiUrl}accounts`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Kept', accountnumber: 'P-1' }),
    });
    expect(created.status).toBe(204);
    await first.close();
    expect(existsSync(path)).toBe(true);

    const second = await startEmulator({ persistPath: path });
    try {
      const got = await fetch(`${second.webApiUrl}accounts(accountnumber='P-1')?$select=name`, { headers: auth });
      expect(got.status).toBe(200);
      expect(((await got.json()) as { name: string }).name).toBe('Kept');
      expect(second.stats().recordsPerTable['account']).toBe(1);
    } finally {
      await second.close();
    }
  });

  test('state is also saved periodically while running', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'emu-persist-')), 'state.json');
    const emulator = await startEmulator({ persistPath: path, persistIntervalMs: 100 });
    try {
      await (
        await fetch(`${emulator.webApiUrl}accounts`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ name: 'Periodic' }),
        })
      ).arrayBuffer();
      await until(() => existsSync(path) && readFileSync(path, 'utf8').includes('Periodic'));
    } finally {
      await emulator.close();
    }
  });

  test('the folder of persistPath is created when missing, at start and again if removed while running', async () => {
    const root = mkdtempSync(join(tmpdir(), 'emu-persist-'));
    const folder = join(root, 'not', 'there', 'yet');
    const emulator = await startEmulator({ persistPath: join(folder, 'state.json') });
    try {
      expect(existsSync(folder)).toBe(true);
      rmSync(join(root, 'not'), { recursive: true });
      await (
        await fetch(`${emulator.webApiUrl}accounts`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ name: 'Nested' }),
        })
      ).arrayBuffer();
    } finally {
      await emulator.close();
    }
    expect(readFileSync(join(folder, 'state.json'), 'utf8')).toContain('Nested');
  });

  test('a corrupt state file fails the start instead of silently losing data', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'emu-persist-')), 'state.json');
    writeFileSync(path, '{"version":2}');
    await expect(startEmulator({ persistPath: path })).rejects.toThrow();
  });
});
