import type { DataverseAuthMode } from '../../config/settings';
import { LoaderError } from '../../errors';

export type DataverseAuthenticationErrorCode =
  /** Entra refused the client id, secret or certificate (invalid_client, unauthorized_client). */
  | 'InvalidClientCredentials'
  /** The managed identity endpoint refused or failed (identity not assigned, endpoint unreachable...). */
  | 'ManagedIdentityFailed'
  /** The certificate setting cannot be used (unreadable file, no key or certificate, wrong passphrase, mismatched pair). */
  | 'InvalidCertificate'
  /** Any other failure to get a token (network, unexpected response). */
  | 'AuthenticationFailed';

/** A token could not be obtained. The message names the auth mode and the client, never a secret or a token. */
export class DataverseAuthenticationError extends LoaderError {
  override readonly name = 'DataverseAuthenticationError';
  declare readonly code: DataverseAuthenticationErrorCode;
  readonly authMode: DataverseAuthMode;
  /** msal-node's error code (e.g. `invalid_client`) when msal reported the failure. */
  readonly msalErrorCode?: string;

  constructor(init: {
    code: DataverseAuthenticationErrorCode;
    authMode: DataverseAuthMode;
    message: string;
    msalErrorCode?: string;
  }) {
    super(init.code, init.message);
    this.authMode = init.authMode;
    if (init.msalErrorCode !== undefined) this.msalErrorCode = init.msalErrorCode;
  }
}
