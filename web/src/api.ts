// The one way the UI talks to the API: tokens, refresh, and errors in words a person understands.

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
  service?: string;
  candidates?: Candidate[];
  [key: string]: unknown;
}

export interface Candidate {
  id: string;
  given_name: string;
  family_name: string;
  date_of_birth?: string | null;
  score?: number;
}

export class ApiError extends Error {
  problem: Problem;
  retryAfter: number | null;
  constructor(problem: Problem, retryAfter: number | null) {
    super(explain(problem, retryAfter));
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
  get status(): number {
    return this.problem.status;
  }
}

const FIELD_NAMES: Record<string, string> = {
  occurred_from: "When it happened",
  occurred_to: "Until",
  lat: "Latitude",
  lon: "Longitude",
  given_name: "Given name",
  family_name: "Family name",
  date_of_birth: "Date of birth",
  password: "Password",
  email: "E-mail",
  description: "Description",
  location_text: "Where",
};

function fieldLabel(field: string): string {
  const last = field.split(".").pop() || field;
  return FIELD_NAMES[last] || last.replace(/_/g, " ");
}

/** Turn a problem+json answer into a sentence for the person at the screen. */
export function explain(problem: Problem, retryAfter: number | null = null): string {
  const detail = problem.detail && problem.detail !== problem.title ? problem.detail : "";
  switch (problem.status) {
    case 0:
      return "The server could not be reached. Check your connection and try again.";
    case 401:
      return detail || "Please sign in again; your session has ended.";
    case 403:
      return detail || "Your role does not allow this action.";
    case 404:
      return detail || "That record could not be found. It may have been removed.";
    case 409:
      return detail || "This conflicts with what is already recorded.";
    case 412:
      return "Someone else changed this record while you were working on it. Reload it to see their changes, then make yours again.";
    case 413:
      return detail || "The file or form is too large to send.";
    case 415:
      return detail || "That type of file is not accepted.";
    case 422:
      if (problem.errors && problem.errors.length) {
        return (
          "Please check the form: " +
          problem.errors.map((e) => `${fieldLabel(e.field)} — ${e.message}`).join("; ") +
          "."
        );
      }
      return detail || "Some of the information is missing or not valid.";
    case 428:
      return "This change needs the record's current version; reload the page and try again.";
    case 429:
      return `Too many attempts. Please wait ${retryAfter ?? "a few"} seconds and try again.`;
    case 502:
    case 503:
      return (
        (problem.service
          ? `The ${problem.service} part of Stationhouse is unavailable right now. `
          : "A part of Stationhouse is unavailable right now. ") + "Please try again in a moment."
      );
    case 504:
      return "The server took too long to answer. Please try again.";
    default:
      return detail || `Something went wrong (error ${problem.status}). Please try again.`;
  }
}

// ---- tokens --------------------------------------------------------------------------------

const ACCESS = "sh.access";
const REFRESH = "sh.refresh";

export interface Tokens {
  access_token: string;
  refresh_token?: string | null;
  expires_in: number;
}

let listeners: (() => void)[] = [];

export function onSignedOut(listener: () => void): () => void {
  listeners.push(listener);
  return () => {
    listeners = listeners.filter((l) => l !== listener);
  };
}

export function storeTokens(tokens: Tokens): void {
  sessionStorage.setItem(ACCESS, tokens.access_token);
  if (tokens.refresh_token) sessionStorage.setItem(REFRESH, tokens.refresh_token);
}

export function clearTokens(): void {
  sessionStorage.removeItem(ACCESS);
  sessionStorage.removeItem(REFRESH);
}

export function accessToken(): string | null {
  return sessionStorage.getItem(ACCESS);
}

export function refreshToken(): string | null {
  return sessionStorage.getItem(REFRESH);
}

// ---- requests ------------------------------------------------------------------------------

export interface RequestOptions {
  method?: string;
  json?: unknown;
  form?: Record<string, string>;
  body?: FormData;
  headers?: Record<string, string>;
  ifMatch?: string | null;
  idempotencyKey?: string;
  auth?: boolean;
  signal?: AbortSignal;
}

export interface Answer<T> {
  data: T;
  etag: string | null;
  status: number;
}

async function toError(response: Response): Promise<ApiError> {
  let problem: Problem = { status: response.status };
  try {
    const text = await response.text();
    if (text) problem = { ...JSON.parse(text), status: response.status };
  } catch {
    /* not JSON: keep the status */
  }
  const retry = response.headers.get("Retry-After");
  return new ApiError(problem, retry ? Number(retry) : null);
}

let refreshing: Promise<boolean> | null = null;

async function refresh(): Promise<boolean> {
  const token = refreshToken();
  if (!token) return false;
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const response = await fetch("/api/v1/auth/token", {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: token }),
        });
        if (!response.ok) return false;
        storeTokens(await response.json());
        return true;
      } catch {
        return false;
      } finally {
        setTimeout(() => (refreshing = null), 0);
      }
    })();
  }
  return refreshing;
}

export async function request<T = unknown>(path: string, options: RequestOptions = {}): Promise<Answer<T>> {
  const send = async (): Promise<Response> => {
    const headers: Record<string, string> = { Accept: "application/json", ...(options.headers || {}) };
    let body: BodyInit | undefined;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(options.form);
    } else if (options.body) {
      body = options.body;
    }
    if (options.ifMatch) headers["If-Match"] = options.ifMatch;
    if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    const token = options.auth === false ? null : accessToken();
    if (token) headers["Authorization"] = `Bearer ${token}`;
    try {
      return await fetch(path.startsWith("/") ? path : `/api/v1/${path}`, {
        method: options.method || (body ? "POST" : "GET"),
        headers,
        body,
        signal: options.signal,
      });
    } catch (err) {
      if ((err as Error).name === "AbortError") throw err;
      throw new ApiError({ status: 0 }, null);
    }
  };
  let response = await send();
  if (response.status === 401 && options.auth !== false && accessToken()) {
    if (await refresh()) {
      response = await send();
    } else {
      clearTokens();
      listeners.forEach((l) => l());
    }
  }
  if (!response.ok) throw await toError(response);
  const type = response.headers.get("Content-Type") || "";
  let data: unknown = null;
  if (response.status !== 204) {
    data = type.includes("json") ? await response.json() : await response.text();
  }
  return { data: data as T, etag: response.headers.get("ETag"), status: response.status };
}

export async function get<T = unknown>(path: string): Promise<T> {
  return (await request<T>(path)).data;
}

export function newKey(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Math.random().toString(36).slice(2) + Date.now().toString(36);
}

export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
