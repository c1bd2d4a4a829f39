/**
 * Turns the certificate setting (PEM with private key and certificate, optionally an encrypted key)
 * into what msal-node's client assertion needs: PKCS#8 private key, SHA-256 thumbprint, and the
 * certificate chain for x5c (subject name / issuer authentication).
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DataverseAuthSettings } from '../../config/settings';
import { DataverseAuthenticationError } from './dataverseAuthenticationError';

export interface ClientCertificateCredential {
  thumbprintSha256: string;
  privateKey: string;
  x5c: string;
}

type CertificateAuth = Extract<DataverseAuthSettings, { mode: 'clientCertificate' }>;

const certificateBlocks = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const keyBlock =
  /-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/;

function invalid(message: string): DataverseAuthenticationError {
  return new DataverseAuthenticationError({ code: 'InvalidCertificate', authMode: 'clientCertificate', message });
}

export function loadClientCertificate(auth: CertificateAuth): ClientCertificateCredential {
  const setting =
    auth.certificate.source === 'path' ? 'DATAVERSE_CLIENT_CERTIFICATE_PATH' : 'DATAVERSE_CLIENT_CERTIFICATE';
  let pem: string;
  if (auth.certificate.source === 'path') {
    try {
      pem = readFileSync(auth.certificate.path, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw invalid(`${setting}: cannot read the certificate file ${auth.certificate.path} (${reason})`);
    }
  } else {
    pem = auth.certificate.pem.reveal();
  }

  const certificates = pem.match(certificateBlocks) ?? [];
  const keyText = keyBlock.exec(pem)?.[0];
  if (certificates.length === 0 || !keyText) {
    throw invalid(
      `${setting}: expected a PEM with a private key and a certificate; found ${keyText ? 'no certificate' : 'no private key'}`,
    );
  }

  let key: KeyObject;
  try {
    key = createPrivateKey({ key: keyText, format: 'pem', passphrase: auth.certificatePassword?.reveal() });
  } catch {
    throw invalid(
      auth.certificatePassword
        ? `${setting}: the private key cannot be decrypted with DATAVERSE_CLIENT_CERTIFICATE_PASSWORD`
        : `${setting}: the private key cannot be read (encrypted keys need DATAVERSE_CLIENT_CERTIFICATE_PASSWORD)`,
    );
  }

  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certificates[0]!);
  } catch {
    throw invalid(`${setting}: the certificate cannot be parsed`);
  }
  // Entra would refuse a mismatched pair with an opaque signature error; say so here instead.
  const publicOfKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (!publicOfKey.equals(leaf.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw invalid(`${setting}: the private key does not belong to the first certificate of the PEM`);
  }
  return {
    thumbprintSha256: leaf.fingerprint256.replace(/:/g, '').toLowerCase(),
    privateKey: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    x5c: certificates.join('\n'),
  };
}
