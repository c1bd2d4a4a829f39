/**
 * Checks a client assertion (RFC 7523 JWT signed with the app's certificate) as Entra would, closely
 * enough to be believable: the signature must verify with the registered certificate, or, for an
 * unregistered client in non-strict mode, with the certificate the assertion carries in `x5c`; the
 * `x5t#S256`/`x5t` thumbprint must name that certificate; iss = sub = client id; aud the token endpoint.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';

export type AssertionCheck = { ok: true } | { ok: false; code: number; description: string };

function thumbprints(certificate: X509Certificate): { sha1: string; sha256: string } {
  const der = certificate.raw;
  return {
    sha1: createHash('sha1').update(der).digest('base64url'),
    sha256: createHash('sha256').update(der).digest('base64url'),
  };
}

function certificateFromPem(pem: string): X509Certificate {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new Error('no certificate in PEM');
  return new X509Certificate(match[0]);
}

export async function checkClientAssertion(
  assertion: string,
  expected: { clientId: string; tenant: string; registeredCertificatePem?: string },
): Promise<AssertionCheck> {
  const invalid = (code: number, description: string): AssertionCheck => ({ ok: false, code, description });
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return invalid(50027, 'Invalid JWT token. The token is malformed.');
  }
  if (header.alg !== 'PS256' && header.alg !== 'RS256')
    return invalid(5002738, `Invalid JWT token: signing algorithm '${String(header.alg)}' is not supported.`);

  let certificate: X509Certificate;
  try {
    const x5c = Array.isArray(header.x5c) ? header.x5c[0] : undefined;
    if (expected.registeredCertificatePem) certificate = certificateFromPem(expected.registeredCertificatePem);
    else if (x5c) certificate = new X509Certificate(Buffer.from(x5c, 'base64'));
    else
      return invalid(
        700027,
        `Client assertion failed signature validation: no certificate is registered for app '${expected.clientId}' and the assertion carries no x5c.`,
      );
  } catch {
    return invalid(700027, 'Client assertion failed signature validation: the certificate cannot be read.');
  }

  const prints = thumbprints(certificate);
  const named = header['x5t#S256'] ?? header.x5t;
  if (named !== prints.sha256 && named !== prints.sha1) {
    return invalid(
      700027,
      `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${typeof named === 'string' ? named : JSON.stringify(named)}']`,
    );
  }
  try {
    const { payload } = await jwtVerify(assertion, certificate.publicKey, {
      algorithms: ['PS256', 'RS256'],
      clockTolerance: 300,
    });
    if (payload.iss !== expected.clientId || payload.sub !== expected.clientId) {
      return invalid(700021, "Client assertion application identifier doesn't match 'client_id' parameter.");
    }
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud ?? ''];
    if (!audiences.some((aud) => aud.endsWith(`/${expected.tenant}/oauth2/v2.0/token`))) {
      return invalid(700212, 'No matching federated identity record found for presented assertion audience.');
    }
    if (typeof payload.exp !== 'number') return invalid(700024, 'Client assertion has no expiry.');
    return { ok: true };
  } catch (error) {
    const expired = (error as { code?: string }).code === 'ERR_JWT_EXPIRED';
    return expired
      ? invalid(700024, 'Client assertion is not within its valid time range.')
      : invalid(
          700027,
          'Client assertion contains an invalid signature. [Reason - The key used to sign it does not match.]',
        );
  }
}
