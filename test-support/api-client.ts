/** A failed call: the tRPC error envelope of API.md. */
export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    public readonly appCode: string,
    public readonly fieldErrors: Record<string, string[]> | undefined,
    public readonly data: Record<string, unknown>,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

interface CallOptions {
  /** The Origin header to send: the console's own by default; null sends none. */
  origin?: string | null;
}

/**
 * A plain-HTTP client of the API exactly as API.md's wire format describes it (no tRPC
 * client library): GET for queries, POST JSON for mutations, a cookie jar of one
 * session cookie, or a bearer token.
 */
export class ApiClient {
  cookie: string | null = null;
  token: string | null = null;

  constructor(public readonly baseURL: string) {}

  /** A client with the same base URL that authenticates with `token` only. */
  withToken(token: string): ApiClient {
    const client = new ApiClient(this.baseURL);
    client.token = token;
    return client;
  }

  private headers(options: CallOptions, json: boolean): Record<string, string> {
    const headers: Record<string, string> = {};
    if (json) headers["content-type"] = "application/json";
    if (this.cookie) headers.cookie = this.cookie;
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const origin = options.origin === undefined ? this.baseURL : options.origin;
    if (origin !== null) headers.origin = origin;
    return headers;
  }

  private async handle<T>(res: Response): Promise<T> {
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) {
      const pair = setCookie.split(";")[0]!;
      this.cookie = pair.endsWith("=") ? null : pair;
    }
    const text = await res.text();
    let body: { result?: { data: T }; error?: { message: string; data: Record<string, unknown> } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, "PARSE", "INTERNAL", undefined, {}, `not JSON (${res.status}): ${text.slice(0, 200)}`);
    }
    if (body.error) {
      const data = body.error.data ?? {};
      throw new ApiError(
        res.status,
        String(data.code),
        String(data.appCode),
        data.fieldErrors as Record<string, string[]> | undefined,
        data,
        body.error.message,
      );
    }
    return body.result!.data;
  }

  /** Calls a query procedure. */
  async query<T = any>(procedure: string, input?: unknown, options: CallOptions = {}): Promise<T> {
    const qs = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    const res = await fetch(`${this.baseURL}/api/trpc/${procedure}${qs}`, { headers: this.headers(options, false) });
    return this.handle<T>(res);
  }

  /** Calls a mutation procedure. */
  async mutate<T = any>(procedure: string, input?: unknown, options: CallOptions = {}): Promise<T> {
    const res = await fetch(`${this.baseURL}/api/trpc/${procedure}`, {
      method: "POST",
      headers: this.headers(options, true),
      body: input === undefined ? undefined : JSON.stringify(input),
    });
    return this.handle<T>(res);
  }

  /** Signs in; keeps the session cookie for later calls. */
  async login(username: string, password: string): Promise<void> {
    await this.mutate("auth.login", { username, password });
  }
}

/** Runs `fn` and returns the ApiError it throws; fails when it does not throw one. */
export async function apiError(fn: () => Promise<unknown>): Promise<ApiError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected the call to fail, and it succeeded");
}

/**
 * Creates console users through `admin` (password `<name>-password-1`) and returns a
 * signed-in client for each, in the order given.
 */
export async function signInNewUsers<const U extends readonly (readonly [string, "admin" | "operator" | "viewer"])[]>(
  admin: ApiClient,
  users: U,
): Promise<{ [K in keyof U]: ApiClient }> {
  const clients: ApiClient[] = [];
  for (const [username, role] of users) {
    await admin.mutate("user.create", { username, password: `${username}-password-1`, role });
    const client = new ApiClient(admin.baseURL);
    await client.login(username, `${username}-password-1`);
    clients.push(client);
  }
  return clients as { [K in keyof U]: ApiClient };
}

/** A client signed in as the test server's `admin`. */
export async function signInAdmin(server: { baseURL: string; adminPassword: string }): Promise<ApiClient> {
  const admin = new ApiClient(server.baseURL);
  await admin.login("admin", server.adminPassword);
  return admin;
}
