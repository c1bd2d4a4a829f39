import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeSettings, loadSettings } from '../../../shared/config/settings';

const root = join(__dirname, '..', '..', '..');

/** One `## Heading` section of the README, up to the next `## `. */
function readmeSection(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.search(new RegExp(`^## ${heading}\\b`, 'm'));
  if (start < 0) throw new Error(`README.md has no '## ${heading}' section`);
  const rest = readme.slice(start + 1);
  const end = rest.search(/^## /m);
  return end < 0 ? rest : rest.slice(0, end);
}

describe('settings documentation', () => {
  const configuration = readmeSection('Configuration');
  const deploy = readmeSection('Deploy to Azure');
  const settings = describeSettings();

  test('the schema describes every setting', () => {
    expect(settings.length).toBeGreaterThan(30);
    for (const s of settings) expect(s.description.length).toBeGreaterThan(10);
  });

  test.each(settings.map((s) => [s.name]))(`%s is documented in the README's Configuration section`, (name) => {
    expect(configuration).toContain(`\`${name}\``);
  });

  test.each(settings.map((s) => [s.name]))(`%s is in the README's Deploy section (where Azure gets it)`, (name) => {
    expect(deploy).toContain(`\`${name}\``);
  });
});

describe('local.settings.example.json', () => {
  const example = JSON.parse(readFileSync(join(root, 'local.settings.example.json'), 'utf8')) as {
    IsEncrypted: boolean;
    Values: Record<string, string>;
    Host: { LocalHttpPort: number };
  };

  test('is in the Core Tools format and names only known settings', () => {
    expect(example.IsEncrypted).toBe(false);
    expect(example.Host.LocalHttpPort).toBe(7071);
    expect(example.Values.FUNCTIONS_WORKER_RUNTIME).toBe('node');
    expect(example.Values.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
    const known = new Set(describeSettings().map((s) => s.name));
    // Settings the Functions host reads, not the app.
    const hostSettings = new Set(['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT']);
    const unknown = Object.keys(example.Values).filter((name) => !hostSettings.has(name) && !known.has(name));
    expect(unknown).toEqual([]);
  });

  test('parses once its placeholders are filled in', () => {
    const filled = Object.fromEntries(
      Object.entries(example.Values).map(([name, value]) => [
        name,
        value
          .replace('<org>', 'contoso')
          .replace(/<[a-z-]*guid>/, '3f1c2b7e-0d6a-4c59-9a51-0e7d2f9b8c11')
          .replace('<client-secret>', 'a-secret'),
      ]),
    );
    expect(loadSettings(filled).dataverse.auth.mode).toBe('clientSecret');
  });
});
