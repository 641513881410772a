import tls from 'node:tls';

/**
 * Makes every TLS client in this process (node:https, so @azure/identity and
 * MSAL, and global fetch/undici, so the Graph client) trust the simulator's CA,
 * in addition to the CAs already trusted. Node 22.15+ only; child processes get
 * the same effect from NODE_EXTRA_CA_CERTS pointing at the CA file.
 *
 * Connections made before the call keep the trust they had; call it before the
 * first request to the simulator.
 */
export function trustSimulatorCa(caCertPem: string): void {
  const current = tls.getCACertificates('default');
  const normalized = caCertPem.trim();
  if (current.some((pem) => pem.trim() === normalized)) return;
  tls.setDefaultCACertificates([...current, caCertPem]);
}
