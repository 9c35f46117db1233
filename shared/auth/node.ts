/**
 * Node-only: registers node:crypto's synchronous HMAC for shared/auth (see hmac-key.ts for why).
 * Import once from a Node entry point (edge/node.ts, gpu-node/server/main.ts).
 */
import { createHmac } from 'node:crypto';
import { registerSyncHmac } from './hmac-key.ts';

export function useNodeCrypto(): void {
  registerSyncHmac((secret, data) => createHmac('sha256', secret).update(data).digest());
}

useNodeCrypto();
