/**
 * `npm run render [-- --check]` (scripts/bw render): runs every renderer
 * (renderers.ts). Without flags it writes the files that changed; with
 * `--check` it writes nothing, names each stale file and exits 1 when any is.
 */
import { parseArgs } from 'node:util';
import { RENDERERS } from './renderers.ts';
import { REPO_ROOT } from './root.ts';
import { runRenderers } from './run.ts';

const USAGE = `usage: npm run render [-- --check]

Renders every generated file from its source:
${RENDERERS.map((r) => `  ${r.name.padEnd(11)}${r.what}`).join('\n')}

  --check   write nothing; list stale files and exit 1 if there are any
`;

let check: boolean;
try {
  const { values } = parseArgs({
    options: { check: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  check = values.check;
} catch (err) {
  process.stderr.write(`render: ${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}

const { stale, lines } = runRenderers(REPO_ROOT, { check });
for (const line of lines) process.stdout.write(`${line}\n`);
if (check) {
  for (const rel of stale) process.stderr.write(`stale: ${rel}\n`);
  if (stale.length > 0) {
    process.stderr.write(`render: ${stale.length} generated file(s) out of date: run npm run render\n`);
    process.exit(1);
  }
  process.stdout.write('render: every generated file is up to date\n');
}
