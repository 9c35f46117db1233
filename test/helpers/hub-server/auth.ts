/**
 * Access rules of the test Hub server, following what huggingface.co answers:
 * - a token that is not in the server's list: 401 "Invalid credentials in Authorization header";
 * - a private or missing repo without a token: 401 with X-Error-Code RepoNotFound (the Hub does not say
 *   which of the two it is, so private repos do not leak); with a valid token that may not read it: 404;
 * - writes need a token with role "write" whose user owns the namespace, else 403.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-util.ts';
import type { RepoRecord } from './store.ts';

export interface TokenGrant {
  user: string;
  role: 'read' | 'write';
}

export type TokenTable = Record<string, TokenGrant>;

/** The caller's grant, undefined when anonymous; throws 401 for an unknown token. */
export function authenticate(req: IncomingMessage, tokens: TokenTable): TokenGrant | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  const grant = m ? tokens[m[1]] : undefined;
  if (!grant) throw new HttpError(401, 'Invalid credentials in Authorization header');
  return grant;
}

export function requireRead(repo: RepoRecord | undefined, grant: TokenGrant | undefined, id: string): RepoRecord {
  if (repo && (!repo.private || grant?.user === repo.owner)) return repo;
  if (!grant) throw new HttpError(401, `Repository not found: ${id}`, 'RepoNotFound');
  throw new HttpError(404, `Repository not found: ${id}`, 'RepoNotFound');
}

export function requireWrite(repo: RepoRecord | undefined, grant: TokenGrant | undefined, id: string): RepoRecord {
  const readable = requireRead(repo, grant, id);
  if (!grant) throw new HttpError(401, 'You must be authenticated to write to a repository');
  if (grant.role !== 'write') throw new HttpError(403, `Your token has the "read" role: it cannot write to ${id}`);
  if (grant.user !== readable.owner) throw new HttpError(403, `You don't have the rights to write to ${id}`);
  return readable;
}

export function requireNamespaceWrite(grant: TokenGrant | undefined, namespace: string): TokenGrant {
  if (!grant) throw new HttpError(401, 'You must be authenticated to create a repository');
  if (grant.role !== 'write') throw new HttpError(403, 'Your token has the "read" role: it cannot create repositories');
  if (grant.user !== namespace) throw new HttpError(403, `You don't have the rights to create a model under the namespace "${namespace}"`);
  return grant;
}
