import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { RENDERERS } from '../src/renderers.ts';
import { REPO_ROOT } from '../src/root.ts';
import { runRenderers } from '../src/run.ts';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, ['tools/render/src/cli.ts', ...args], { cwd: REPO_ROOT }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('npm run render (tools/render/src/cli.ts)', () => {
  it('--check passes on the checked-in files and writes nothing', async () => {
    const r = await cli('--check');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('render: every generated file is up to date');
    expect(r.code).toBe(0);
  });

  it('--check names each stale file and fails (a renderer whose output differs from disk)', () => {
    const changed = {
      name: 'changed',
      what: 'a file that differs from disk',
      render: () => ({ files: { 'compose.yaml': '# not what is checked in\n' }, remove: ['gone.json'] }),
    };
    const r = runRenderers(REPO_ROOT, { check: true, renderers: [...RENDERERS.slice(0, 1), changed] });
    expect(r.stale).toEqual(['compose.yaml', 'gone.json']);
    expect(r.lines).toEqual([]);
  });

  it('refuses an unknown flag with the usage', async () => {
    const r = await cli('--chek');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--chek'[\s\S]*usage: npm run render/);
  });
});
