import { describe, expect, it } from 'vitest';
import { build, type Manifest, overlayNames, validateManifest } from './manifests.ts';
import { unknownFieldProblems } from './strict-fields.ts';

describe('unknown fields (which schema validation lets through)', () => {
  it('no built object of any overlay has a field its type does not know', () => {
    const seen = new Set<string>();
    const objects: Manifest[] = [];
    for (const o of overlayNames().flatMap((n) => build(`k8s/overlays/${n}`))) {
      const key = JSON.stringify(o);
      if (!seen.has(key)) objects.push(o);
      seen.add(key);
    }
    expect(objects.length).toBeGreaterThan(100);
    expect(unknownFieldProblems(objects)).toEqual([]);
  });

  it('catches a misspelt field that the schema validators accept', async () => {
    const d = structuredClone(build('k8s/overlays/plain').find((o) => o.kind === 'Deployment')) as Manifest;
    d.spec.template.spec.containers[0].readinesProbe = d.spec.template.spec.containers[0].readinessProbe;
    delete d.spec.template.spec.containers[0].readinessProbe;
    expect(await validateManifest(d)).toEqual([]); // the schema is blind to it
    const problems = unknownFieldProblems([d]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(`^Deployment/${d.metadata.name}: .*'"readinesProbe"' does not exist`),
    );
  });
});
