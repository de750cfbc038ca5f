import type { Config } from '../config.js';

/** A failed call to the API: its HTTP status and the `{ code, message }` body (status 0: unreachable). */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The operator CLI talks to the service's HTTP API, like any other client. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  /** RMSG_API_URL (default: the configured host and port) and RMSG_API_TOKEN (default: the configured write, then read token). */
  static fromConfig(config: Config, env: NodeJS.ProcessEnv = process.env): ApiClient {
    const host = config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host;
    const baseUrl = env.RMSG_API_URL ?? `http://${host}:${config.api.port}`;
    return new ApiClient(
      baseUrl.replace(/\/$/, ''),
      env.RMSG_API_TOKEN ?? config.api.writeToken ?? config.api.readToken,
    );
  }

  get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
    return this.request<T>('GET', params.size > 0 ? `${path}?${params}` : path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete(path: string): Promise<unknown> {
    return this.request('DELETE', path);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiCallError(
        0,
        'UNREACHABLE',
        `cannot reach the API at ${this.baseUrl} (${(err as Error).message}); is \`rmsg start\` running?`,
      );
    }
    const text = await res.text();
    const json = parseJson(text);
    if (!json) throw new ApiCallError(res.status, 'HTTP_ERROR', `HTTP ${res.status}: ${text.slice(0, 200)}`);
    if (!res.ok) throw new ApiCallError(res.status, String(json.code ?? 'HTTP_ERROR'), String(json.message ?? text));
    return json as T;
  }
}

/**
 * The API answers JSON; anything else (a proxy's HTML 404 or 502 page, a cut answer) is undefined,
 * for the caller to report by its HTTP status. An empty answer is an empty object.
 */
function parseJson(text: string): Record<string, unknown> | undefined {
  if (!text) return {};
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
