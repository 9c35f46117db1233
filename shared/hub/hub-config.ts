/**
 * Where to talk to and with which token. @huggingface/hub reads no environment variable itself (every
 * call takes `hubUrl` and `accessToken`), so this is the one place that does: HF_ENDPOINT for mirrors
 * and private hubs, HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN) for the token, flags first.
 */
import { HubError, redactToken } from './errors.ts';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface HubConfig {
  /** Base URL without a trailing slash, e.g. https://huggingface.co or http://127.0.0.1:4321. */
  hubUrl: string;
  accessToken?: string;
}

export interface HubConfigInput {
  /** --token; wins over the environment. */
  token?: string;
  /** --endpoint; wins over HF_ENDPOINT. */
  endpoint?: string;
  /** The environment to read (defaults to process.env); tests pass their own. */
  env?: Record<string, string | undefined>;
}

export function resolveHubConfig(input: HubConfigInput = {}): HubConfig {
  const env = input.env ?? (typeof process === 'undefined' ? {} : process.env);
  const rawUrl = (input.endpoint ?? env.HF_ENDPOINT ?? DEFAULT_HUB_URL).trim();
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new HubError('invalid-input', `Hub endpoint '${rawUrl}' is not a URL: set HF_ENDPOINT (or --endpoint) to something like ${DEFAULT_HUB_URL}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HubError('invalid-input', `Hub endpoint '${rawUrl}' must be http(s)://, got ${url.protocol}`);
  }
  const hubUrl = url.href.replace(/\/+$/, '');
  const token = (input.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN)?.trim() || undefined;
  if (token && !token.startsWith('hf_')) {
    // @huggingface/hub refuses such tokens with a bare TypeError; say where to get a real one instead.
    throw new HubError(
      'auth-rejected',
      `the token ${redactToken(token)} does not start with 'hf_': use a User Access Token from ${hubUrl}/settings/tokens in HF_TOKEN or --token`,
    );
  }
  return { hubUrl, accessToken: token };
}
