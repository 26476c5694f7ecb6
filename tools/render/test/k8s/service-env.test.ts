import { loadPolicy } from '@breakwater/mesh/policy/schema';
import { describe, expect, it } from 'vitest';
import { renderCompose } from '../../src/k8s/compose.ts';
import { configEnv, NODE_WORKLOADS, secretEnv } from '../../src/k8s/platform.ts';

/**
 * The environment k8s and compose give each service is accepted by that
 * service's own start-up validation (services/<name>/src/config.ts), and
 * names no variable the service does not read.
 */
const policy = loadPolicy();
const services = NODE_WORKLOADS.filter((w) => w.name !== 'gateway'); // the gateway's schema lives unexported in main.ts

interface ServiceConfigModule {
  loadConfig(env: Record<string, string>): { port: number; host: string };
  [schema: string]: unknown;
}

async function configModule(name: string) {
  const mod = (await import(`@breakwater/${name}`)) as ServiceConfigModule;
  const schemaName = `${name[0]?.toUpperCase()}${name.slice(1)}Env`;
  const schema = mod[schemaName] as { shape: Record<string, unknown> } | undefined;
  return { loadConfig: mod.loadConfig, keys: Object.keys(schema?.shape ?? {}), schemaName };
}

describe.each(services.map((w) => [w.name, w] as const))('%s environment', (name, w) => {
  const k8sEnv = {
    ...configEnv(policy, w, name === 'frontend' ? { FRONTEND_API_KEY: 'not-a-secret-x' } : {}),
    ...secretEnv(policy, w),
    ...(w.consumerNameEnv ? { [w.consumerNameEnv]: `${name}-7d9f-abcde` } : {}),
  };

  it('in k8s is accepted by the service and listens where the Deployment probes', async () => {
    const { loadConfig } = await configModule(name);
    const cfg = loadConfig(k8sEnv);
    expect(cfg.port).toBe(8080);
    expect(cfg.host).toBe('0.0.0.0');
  });

  it('names only variables the service reads', async () => {
    const { keys, schemaName } = await configModule(name);
    expect(keys.length, `services/${name}/src/config.ts exports ${schemaName}`).toBeGreaterThan(0);
    expect(Object.keys(k8sEnv).filter((k) => !keys.includes(k) && k !== 'LOG_LEVEL')).toEqual([]);
  });

  it('in compose is accepted by the service', async () => {
    const { loadConfig } = await configModule(name);
    const compose = renderCompose(policy, {}) as {
      services: Record<string, { environment: Record<string, string> }>;
    };
    const env = compose.services[name]?.environment ?? {};
    expect(() => loadConfig(env)).not.toThrow();
  });
});
