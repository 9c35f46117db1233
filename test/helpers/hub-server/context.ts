/** What every route handler of the test Hub server gets. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenGrant, TokenTable } from './auth.ts';
import type { FaultAction } from './faults.ts';
import type { HubStore } from './store.ts';

export interface ServerContext {
  store: HubStore;
  tokens: TokenTable;
  /** http://127.0.0.1:<port>, used to build LFS upload and commit URLs. */
  baseUrl: string;
  /** Files above this size go through LFS even when .gitattributes does not name them. */
  lfsThresholdBytes: number;
  /** Tree listings are paginated with this many entries per page (Link: rel="next"). */
  treePageSize: number;
  /** Single-use LFS upload URLs handed out by the batch endpoint: ticket -> the object it may receive. */
  uploadTickets: Map<string, { repoId: string; oid: string; size: number }>;
}

export interface Call {
  ctx: ServerContext;
  req: IncomingMessage;
  res: ServerResponse;
  /** Captures of the route pattern, URL-decoded. */
  params: string[];
  query: URLSearchParams;
  grant: TokenGrant | undefined;
  /** A drop or corrupt fault for this request, for the handlers that stream bodies to honour. */
  fault: FaultAction | undefined;
}

export type Handler = (call: Call) => Promise<void>;
