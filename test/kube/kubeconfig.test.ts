import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { ConfigError } from '../../shared/core/errors.js';
import type { ClusterCredentials } from '../../shared/core/ports.js';
import { kubeconfigCredentials } from '../../shared/kube/auth/kubeconfig.js';

// Our kubeconfig reader must pick the same server, CA and user as @kubernetes/client-node's
// KubeConfig (the reference), which the function bundles no longer carry.

function aKubeconfig(tweak: (doc: Record<string, unknown>) => void = () => undefined): string {
  const doc: Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'prod',
    clusters: [
      {
        name: 'prod-cluster',
        cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': 'UFJPRC1DQQ==' },
      },
      { name: 'dev-cluster', cluster: { server: 'https://127.0.0.1:7443' } },
    ],
    users: [
      { name: 'prod-user', user: { token: 'prod-token' } },
      { name: 'dev-user', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' } },
    ],
    contexts: [
      { name: 'prod', context: { cluster: 'prod-cluster', user: 'prod-user', namespace: 'payments' } },
      { name: 'dev', context: { cluster: 'dev-cluster', user: 'dev-user' } },
    ],
  };
  tweak(doc);
  return stringify(doc);
}

/** What client-node's KubeConfig resolves for the context. */
function reference(text: string, context?: string): ClusterCredentials {
  const config = new KubeConfig();
  config.loadFromString(text);
  const ctx = config.getContextObject(context ?? config.getCurrentContext());
  const cluster = ctx === null ? null : config.getCluster(ctx.cluster);
  const user = ctx === null ? null : config.getUser(ctx.user);
  if (cluster === null || user === null) throw new Error('reference could not resolve the context');
  return {
    server: cluster.server,
    ...(cluster.caData === undefined ? {} : { caData: cluster.caData }),
    ...(user.token === undefined
      ? { clientCertData: user.certData ?? '', clientKeyData: user.keyData ?? '' }
      : { token: user.token }),
  };
}

describe('kubeconfig credentials', () => {
  it.each<[string, string, string | undefined]>([
    ['the current context with a token user and a CA', aKubeconfig(), undefined],
    ['a named context with a client certificate and no CA', aKubeconfig(), 'dev'],
    [
      'a current-context pointing at the second entry',
      aKubeconfig((d) => void (d['current-context'] = 'dev')),
      undefined,
    ],
  ])('resolves %s exactly as client-node does', (_case, text, context) => {
    // when
    const ours = kubeconfigCredentials(text, 'test', context);
    // then
    expect(ours).toEqual(reference(text, context));
  });

  it.each<[string, string, string | undefined, RegExp]>([
    ['an unknown context', aKubeconfig(), 'qa', /has no context "qa" \(contexts: prod, dev\)/],
    [
      'a context naming a missing user',
      aKubeconfig((d) => void (d['users'] = [])),
      undefined,
      /names user "prod-user", which is not defined/,
    ],
    [
      'insecure-skip-tls-verify',
      aKubeconfig(
        (d) =>
          void (d['clusters'] = [
            {
              name: 'prod-cluster',
              cluster: { server: 'https://127.0.0.1:6443', 'insecure-skip-tls-verify': true },
            },
          ]),
      ),
      undefined,
      /TLS is always verified/,
    ],
    [
      'an exec plugin',
      aKubeconfig(
        (d) =>
          void (d['users'] = [
            {
              name: 'prod-user',
              user: { exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1beta1' } },
            },
          ]),
      ),
      undefined,
      /exec or auth-provider plugin/,
    ],
    ['a document that is not a kubeconfig', '- just\n- a list\n', undefined, /is not a valid kubeconfig/],
  ])('refuses %s with a ConfigError that says why', (_case, text, context, message) => {
    expect(() => kubeconfigCredentials(text, 'test', context)).toThrow(ConfigError);
    expect(() => kubeconfigCredentials(text, 'test', context)).toThrow(message);
  });

  it('never quotes the document in its error', () => {
    // given a broken document holding a token
    const text = 'users: [ { name: u, user: { token: SECRET-TOKEN-CANARY } }\n';
    // when / then
    expect(() => kubeconfigCredentials(text, 'test')).toThrow(/^test is not a valid kubeconfig/);
    try {
      kubeconfigCredentials(text, 'test');
    } catch (error) {
      expect(String(error)).not.toContain('SECRET-TOKEN-CANARY');
    }
  });
});
