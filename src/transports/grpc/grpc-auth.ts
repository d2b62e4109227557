import type { Metadata } from '@grpc/grpc-js';
import type { Authenticator, Credentials } from '../../auth/authenticator.js';
import type { Principal } from '../../core/types.js';
import type { ConnectionAdmission } from '../../edge/connection-admission.js';
import { presentedCredentials } from '../presented-credentials.js';

/**
 * What a call presents in metadata, as on HTTP: `x-switchboard-key: <api key>`,
 * `authorization: Bearer <token or api key>`, or in auth "open" `x-switchboard-user: <name>`.
 * The authenticator decides what each is worth, so every auth mode works here unchanged.
 */
export function credentialsOf(metadata: Metadata): Credentials {
  return presentedCredentials((key) => first(metadata, key), 'Use "authorization: Bearer <token>" metadata.');
}

/** The Principal behind a call, or throws `unauthorized`. */
export async function authenticateCall(metadata: Metadata, authenticator: Authenticator): Promise<Principal> {
  return authenticator.authenticate(credentialsOf(metadata));
}

/** The Principal behind a streaming call (a connection): its credentials, then the app's connect hook. */
export async function admitStream(metadata: Metadata, admission: ConnectionAdmission): Promise<Principal> {
  return admission.admit({ wire: 'grpc', credentials: credentialsOf(metadata), header: (name) => first(metadata, name) });
}

function first(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}
