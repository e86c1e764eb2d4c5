import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import {
  BullpenApiError,
  BullpenClientError,
  BullpenConnectionError,
  JobWaitTimeoutError,
  type ApiIssue,
} from './errors';
import type {
  AddedJob,
  Job,
  JobList,
  JobListOptions,
  JobLogOptions,
  JobLogs,
  NewJob,
  WorkerRegistrationRequest,
} from './types';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_WAIT_TIMEOUT_MS = 30_000;
const DEFAULT_POLL_INTERVAL_MS = 250;

export interface BullpenClientOptions {
  /** The API's base URL, for example `http://127.0.0.1:8080`; a path prefix is kept. */
  readonly baseUrl: string;
  /** API token sent as `Authorization: Bearer`. Default: none, for an API without auth. */
  readonly token?: string;
  /** Time allowed for each request, including the response body. Default 10000. */
  readonly timeoutMs?: number;
  /** undici dispatcher for connection pooling or proxies. Default: undici's global one. */
  readonly dispatcher?: Dispatcher;
}

export interface WaitForJobOptions {
  /** How long to wait for the job to complete or fail. Default 30000. */
  readonly timeoutMs?: number;
  /** Time between two reads of the job. Default 250. */
  readonly pollIntervalMs?: number;
  /** Stops waiting early; the wait then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

type HttpMethod = 'GET' | 'POST' | 'DELETE';

interface RequestSpec {
  readonly method: HttpMethod;
  readonly path: string;
  readonly query?: Record<string, string | number | undefined>;
  readonly body?: unknown;
  /** Bearer token for this request; the client's API token when omitted. */
  readonly token?: string;
}

/** Typed client of the Bullpen HTTP API. */
export class BullpenClient {
  private readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher | undefined;

  constructor(options: BullpenClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.baseUrl);
    } catch {
      throw new BullpenClientError(
        `Invalid baseUrl "${options.baseUrl}": use an absolute http:// or https:// URL.`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new BullpenClientError(`Invalid baseUrl "${options.baseUrl}": use http or https.`);
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new BullpenClientError(
        `Invalid timeoutMs ${timeoutMs}: use a positive number of milliseconds.`,
      );
    }

    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = timeoutMs;
    this.dispatcher = options.dispatcher;
  }

  /** Registers a worker, replacing any worker of the same queue. */
  async registerWorker(registration: WorkerRegistrationRequest): Promise<void> {
    await this.send({ method: 'POST', path: '/workers', body: registration });
  }

  /** Lists registered workers: queue name to endpoint URL or function name. */
  async listWorkers(): Promise<Record<string, string>> {
    return this.send({ method: 'GET', path: '/workers' });
  }

  /** Removes the worker of a queue; rejects with status 404 when none is registered. */
  async removeWorker(queue: string): Promise<void> {
    await this.send({ method: 'DELETE', path: `/workers/${encode(queue)}` });
  }

  /** Adds jobs atomically and returns them in request order. */
  async addJobs(queue: string, jobs: readonly NewJob[]): Promise<AddedJob[]> {
    return this.send({ method: 'POST', path: `/queues/${encode(queue)}/jobs`, body: jobs });
  }

  /** Adds one job. */
  async addJob(queue: string, job: NewJob): Promise<AddedJob> {
    const [added] = await this.addJobs(queue, [job]);
    if (!added) throw new BullpenClientError(`The API returned no job for queue "${queue}".`);
    return added;
  }

  /** Lists jobs by state with their counts. */
  async listJobs(queue: string, options: JobListOptions = {}): Promise<JobList> {
    return this.send({
      method: 'GET',
      path: `/queues/${encode(queue)}/jobs`,
      query: {
        statuses: options.statuses?.join(','),
        start: options.start,
        length: options.length,
      },
    });
  }

  /** Reads one job with its `state`; rejects with status 404 for an unknown job. */
  async getJob(queue: string, id: string): Promise<Job> {
    return this.send({ method: 'GET', path: jobPath(queue, id) });
  }

  /** Reads a job's log lines. */
  async getJobLogs(queue: string, id: string, options: JobLogOptions = {}): Promise<JobLogs> {
    return this.send({
      method: 'GET',
      path: `${jobPath(queue, id)}/logs`,
      query: { start: options.start, length: options.length },
    });
  }

  /**
   * Sets the progress of a running job. Authorised by the job token the dispatcher sent with
   * the job, which is valid only while that attempt runs.
   */
  async updateProgress(
    queue: string,
    id: string,
    jobToken: string,
    progress: unknown,
  ): Promise<void> {
    await this.send({
      method: 'POST',
      path: `${jobPath(queue, id)}/progress`,
      body: progress ?? null,
      token: jobToken,
    });
  }

  /** Appends a log line to a running job, authorised by its job token like `updateProgress`. */
  async addJobLog(queue: string, id: string, jobToken: string, line: string): Promise<void> {
    await this.send({
      method: 'POST',
      path: `${jobPath(queue, id)}/logs`,
      body: line,
      token: jobToken,
    });
  }

  /** Checks that the API process is up. */
  async health(): Promise<{ status: 'ok' }> {
    return this.send({ method: 'GET', path: '/health' });
  }

  /** Checks that the API reaches Redis; rejects with status 503 when it does not. */
  async ready(): Promise<{ status: 'ready' }> {
    return this.send({ method: 'GET', path: '/ready' });
  }

  /**
   * Polls a job until it is completed or failed and returns it. A job that fails an attempt
   * but has attempts left is `delayed` or `waiting`, so this waits for its final outcome.
   */
  async waitForJob(queue: string, id: string, options: WaitForJobOptions = {}): Promise<Job> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    const deadline = Date.now() + timeoutMs;

    let lastState: string | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      const job = await this.getJob(queue, id);
      lastState = job.state;
      if (job.state === 'completed' || job.state === 'failed') {
        // The API reads the job's fields before its state, so a job that finished in between
        // comes back as failed or completed with the fields of its running attempt. A read
        // after the finished state was seen returns the final fields.
        return this.getJob(queue, id);
      }
      if (Date.now() + pollIntervalMs > deadline) {
        throw new JobWaitTimeoutError(queue, id, timeoutMs, lastState);
      }
      await sleep(pollIntervalMs, undefined, { signal: options.signal });
    }
  }

  private async send<T>(spec: RequestSpec): Promise<T> {
    const url = this.baseUrl + spec.path + queryString(spec.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = spec.token ?? this.token;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (spec.body !== undefined) headers['content-type'] = 'application/json';

    let status: number;
    let text: string;
    try {
      const response = await request(url, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (cause) {
      throw new BullpenConnectionError({
        method: spec.method,
        url,
        detail: describeCause(cause, this.timeoutMs),
        cause,
      });
    }

    if (status < 200 || status >= 300) throw toApiError(spec, status, text);
    return parseBody<T>(spec, status, text);
  }
}

function encode(segment: string): string {
  return encodeURIComponent(segment);
}

function jobPath(queue: string, id: string): string {
  return `/queues/${encode(queue)}/jobs/${encode(id)}`;
}

function queryString(query: RequestSpec['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function parseBody<T>(spec: RequestSpec, status: number, text: string): T {
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new BullpenClientError(
      `${spec.method} ${spec.path} returned HTTP ${status} with a body that is not JSON.`,
      { cause },
    );
  }
}

function toApiError(spec: RequestSpec, status: number, text: string): BullpenApiError {
  const body = safeJsonParse(text) as
    | { error?: { code?: unknown; message?: unknown; issues?: unknown; requestId?: unknown } }
    | undefined;
  const error = body?.error;
  const fromApi = typeof error?.code === 'string' && typeof error.message === 'string';

  return new BullpenApiError({
    status,
    code: fromApi ? (error.code as string) : `http_${status}`,
    message: fromApi ? (error.message as string) : text.slice(0, 200) || 'no response body',
    issues: fromApi && Array.isArray(error.issues) ? (error.issues as ApiIssue[]) : [],
    requestId: typeof error?.requestId === 'string' ? error.requestId : undefined,
    method: spec.method,
    path: spec.path,
  });
}

function safeJsonParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeCause(cause: unknown, timeoutMs: number): string {
  // undici rejects with the signal's reason, a DOMException, which may come from another
  // realm under test runners, so its fields are read instead of checking instanceof.
  const { name, code, message } = (cause ?? {}) as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
  };
  if (name === 'TimeoutError' || name === 'AbortError') {
    return `no response within ${timeoutMs} ms (timeoutMs)`;
  }
  const text = typeof message === 'string' ? message : String(cause);
  return typeof code === 'string' ? `${code}: ${text}` : text;
}
