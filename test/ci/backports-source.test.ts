// .ci/backports-source: the apt source CI adds for Mesa comes from the machine's own mirror for the
// release (deb822 or one-line sources), so no package host is written into the repository; with no
// source for the release it fails with a message instead of guessing a host.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '..', '.ci', 'backports-source');

function aptDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rocforge-apt-'));
  mkdirSync(join(dir, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function run(codename: string, dir: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', [SCRIPT, codename, dir], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('.ci/backports-source', () => {
  it('takes the mirror and keyring of the deb822 stanza that carries the release', () => {
    const dir = aptDir({
      'sources.list.d/mirror.sources':
        'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n' +
        'Types: deb\n# a comment\nURIs: http://mirror.example/debian http://other.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n',
    });
    const r = run('bookworm', dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n');
  });

  it('reads one-line sources too, options and all', () => {
    const dir = aptDir({ 'sources.list': 'deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian trixie main\n' });
    const r = run('trixie', dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Types: deb\nURIs: http://m.example/debian\nSuites: trixie-backports\nComponents: main\nSigned-By: /k.gpg\n');
  });

  it('fails with a message when no source names the release', () => {
    const dir = aptDir({ 'sources.list': 'deb http://m.example/debian bullseye main\n' });
    const r = run('bookworm', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("no apt source under");
    expect(r.stderr).toContain("names the suite 'bookworm'");
  });
});
