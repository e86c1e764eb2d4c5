import { JOB_STATES, WorkerRegistry } from '@bullpen/core';
import { PRIORITY_LIMIT, Queue, QueueKeys, Worker } from 'bullmq';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import http, { STATUS_CODES } from 'node:http';
import net from 'node:net';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../../../test/support/redis';
import { MAX_JSON_DEPTH } from '../src/json-text';
import type { ApiServer } from '../src/server';
import { TOKEN, createHarness, json, startLoopbackApi, type Harness } from './harness';

// Sends generated requests to every route and checks each response against a verdict that
// the generator computes from the documented rules, independently of the API's own schemas.
// Malformed input must get a 4xx JSON error, a request that is legal after all must get a
// 2xx, and no response may carry internal text. Rerun a failure with FUZZ_SEED=<seed>.

const CI_SEED = 31;
const SEED = readSeed();
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const ONE_MB_TEXT = 'x'.repeat(1024 * 1024);
const TEN_THOUSAND_ZEROS: number[] = new Array(10_000).fill(0);

function readSeed(): number {
  const text = process.env.FUZZ_SEED;
  // CI runs one known seed so a red build can be rerun exactly; local runs explore new ones.
  if ((text === undefined || text === '') && process.env.CI) return CI_SEED;
  if (text === undefined || text === '') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got "${text}"`);
  return seed;
}

// ---------------------------------------------------------------------------------------
// JSON text the generator can place verbatim: numbers JavaScript cannot hold, nesting too
// deep to build as objects, and text that is not JSON at all.

const BAD_SYNTAX = Symbol('not JSON');

/** JSON text inserted as is; `value` is what a parser yields, or BAD_SYNTAX. */
class RawJson {
  constructor(
    readonly text: string,
    readonly value: unknown,
    /** Whether the API can store it as job data: finite numbers, limited nesting. */
    readonly storable: boolean,
  ) {}
}

const raw = (text: string, value: unknown, storable = true) => new RawJson(text, value, storable);
const notJson = (text: string) => new RawJson(text, BAD_SYNTAX, false);

// A generated value sits at most two levels down (job list, job), so it fits the depth
// limit when it is two levels shallower. The exact limit has its own tests below.
function nestedArrays(depth: number): RawJson {
  return raw('['.repeat(depth) + ']'.repeat(depth), [], depth <= MAX_JSON_DEPTH - 2);
}

function nestedObjects(depth: number): RawJson {
  return raw('{"a":'.repeat(depth) + '1' + '}'.repeat(depth), {}, depth <= MAX_JSON_DEPTH - 2);
}

function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).map(
      ([key, member]) => `${JSON.stringify(key)}:${toJsonText(member)}`,
    );
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Values of every JSON type, with edge cases, tried in every field. */
const ODD_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  1,
  -1,
  1.5,
  -2.5,
  1e308,
  -1e308,
  5e-324,
  2 ** 53 - 1,
  raw('-0', -0),
  raw('9007199254740993', 2 ** 53),
  raw('1e999', Infinity, false),
  raw('-1e999', -Infinity, false),
  '',
  ' ',
  '0',
  '1',
  'abc',
  'true',
  'null',
  '\u0000',
  'a\u0000b',
  '🚀',
  '👩‍👩‍👧‍👦',
  'שלום עולם',
  'مرحبا',
  '\u202eevil\u202c',
  'e\u0301\u0301\u0301',
  '\ud800',
  'x\udc00y',
  ONE_MB_TEXT,
  [],
  [1],
  ['a', null],
  TEN_THOUSAND_ZEROS,
  {},
  { a: 1 },
  { '': null },
  nestedArrays(20),
  nestedArrays(1000),
  nestedArrays(5000),
  nestedArrays(100_000),
  nestedObjects(5000),
];

/** Text that no JSON parser accepts, placed where a value goes. */
const NOT_JSON_VALUES: readonly RawJson[] = [
  'NaN',
  'Infinity',
  '-Infinity',
  'undefined',
  "'single quoted'",
  '01',
  '+1',
  '.5',
  '1.',
  '0x10',
  '"\\x41"',
  '"a\u0001b"',
  '"unterminated',
  '[1,]',
  '{"a":1,}',
  '/* comment */ 1',
  'True',
  '{a:1}',
].map(notJson);

/** Marks a field to delete instead of set. */
const ABSENT = Symbol('absent');

const unicodeText = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  fc.constantFrom('🚀🚀', 'עברית', '\u202e\u0635', 'a\u0000', '\ud83d', 'q\u007f', 'x'.repeat(101)),
);

// ---------------------------------------------------------------------------------------
// The documented rules, restated. A rule returns whether a value is legal in one field.

type Rule = (value: unknown) => boolean;

const LONE_SURROGATE = /\p{Cs}/u;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const RESERVED_HEADERS = [
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  'expect',
];
/** Names BullMQ gives the queue's own keys (`<prefix>:<queue>:<name>`). No job may take one. */
const QUEUE_KEY_NAMES = new Set(Object.keys(new QueueKeys('bull').getKeys('queue')));
const MAX_TIMEOUT_MS = 15 * 60 * 1000;
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
/** Maximum delay of a Node.js timer. BullMQ sets timers from the worker's ms options. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function plain(value: unknown): unknown {
  return value instanceof RawJson ? value.value : value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof RawJson)
  );
}

const never: Rule = () => false;
const optional =
  (rule: Rule): Rule =>
  (value) =>
    value === undefined || rule(value);
const isBoolean: Rule = (value) => typeof plain(value) === 'boolean';

const isInteger =
  (min: number, max = Number.MAX_SAFE_INTEGER): Rule =>
  (value) => {
    const number = plain(value);
    return (
      typeof number === 'number' && Number.isSafeInteger(number) && number >= min && number <= max
    );
  };

const isNumber =
  (min: number, max: number): Rule =>
  (value) => {
    const number = plain(value);
    return typeof number === 'number' && Number.isFinite(number) && number >= min && number <= max;
  };

/** A string of `min` to `max` UTF-16 units that UTF-8 can carry (no lone surrogate). */
const isText =
  (min: number, max: number, extra: (text: string) => boolean = () => true): Rule =>
  (value) =>
    typeof value === 'string' &&
    value.length >= min &&
    value.length <= max &&
    !LONE_SURROGATE.test(value) &&
    extra(value);

const isQueueName = isText(1, 100, (name) => !name.includes(':') && !CONTROL_CHARACTER.test(name));
const hasNoControlCharacter = (text: string) => !CONTROL_CHARACTER.test(text);
const isJobName = isText(1, 1000, hasNoControlCharacter);
const isJobId = isText(
  1,
  512,
  (id) =>
    !/^\d+$/.test(id) && !id.includes(':') && !QUEUE_KEY_NAMES.has(id) && hasNoControlCharacter(id),
);
const isDeduplicationId = isText(1, 512, hasNoControlCharacter);
const isLogLine = isText(0, 16 * 1024);
const isStorableJson: Rule = (value) => !(value instanceof RawJson) || value.storable;

const isHeaderValue: Rule = (value) =>
  typeof value === 'string' && value.length <= 8192 && HEADER_VALUE.test(value);

const isHeaderName = (name: string) =>
  name.length <= 256 && HEADER_NAME.test(name) && !RESERVED_HEADERS.includes(name.toLowerCase());

const isHeaders: Rule = (value) =>
  isPlainObject(value) &&
  Object.keys(value).length <= 64 &&
  new Set(Object.keys(value).map((name) => name.toLowerCase())).size ===
    Object.keys(value).length &&
  Object.entries(value).every(
    ([name, headerValue]) => isHeaderName(name) && isHeaderValue(headerValue),
  );

const isMethod: Rule = (value) =>
  typeof value === 'string' && ['POST', 'PUT', 'PATCH'].includes(value.toUpperCase());

const isKeepJobs: Rule = (value) => {
  if (isBoolean(value) || isInteger(0)(value)) return true;
  if (!isPlainObject(value)) return false;
  const allowed = ['count', 'age', 'limit'];
  return (
    Object.keys(value).every((key) => allowed.includes(key)) &&
    (value.count !== undefined || value.age !== undefined) &&
    optional(isInteger(0))(value.count) &&
    optional(isInteger(0))(value.age) &&
    optional(isInteger(1))(value.limit)
  );
};

const isEmptyObject: Rule = (value) => isPlainObject(value) && Object.keys(value).length === 0;

// ---------------------------------------------------------------------------------------
// Bodies: a valid base, one field changed. A field lists the pool values its rule judges
// and samples whose verdict needs more than a rule (URLs, cron patterns, time zones).

interface FieldSpec {
  readonly path: readonly string[];
  readonly rule: Rule;
  readonly samples?: ReadonlyArray<readonly [unknown, boolean]>;
  /** Also tries arbitrary Unicode strings. Set it only where the rule judges any string. */
  readonly anyText?: boolean;
}

interface BodySpec {
  readonly label: string;
  readonly base: () => unknown;
  readonly fields: readonly FieldSpec[];
  /** Objects in the base that take no other keys. */
  readonly strictObjects: readonly (readonly string[])[];
}

interface BodyCase {
  readonly kind: string;
  readonly body: string | Uint8Array;
  readonly valid: boolean;
}

function setPath(target: unknown, path: readonly string[], value: unknown): void {
  let current = target as Record<string, unknown>;
  for (const key of path.slice(0, -1)) current = current[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (value === ABSENT) {
    if (Array.isArray(current)) current.splice(Number(last), 1);
    else delete current[last];
    return;
  }
  // defineProperty, so that a key such as "__proto__" becomes an own property.
  Object.defineProperty(current, last, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function fieldValues(field: FieldSpec): fc.Arbitrary<{ value: unknown; valid: boolean }> {
  const judged = (value: unknown) => ({
    value,
    valid: field.rule(value === ABSENT ? undefined : value),
  });
  const options: fc.Arbitrary<{ value: unknown; valid: boolean }>[] = [
    fc.constantFrom(...ODD_VALUES, ABSENT).map(judged),
    fc.constantFrom(...NOT_JSON_VALUES).map((value) => ({ value, valid: false })),
  ];
  if (field.samples && field.samples.length > 0) {
    options.push(fc.constantFrom(...field.samples).map(([value, valid]) => ({ value, valid })));
  }
  if (field.anyText) options.push(unicodeText.map(judged));
  return fc.oneof(...options);
}

function fieldCases(spec: BodySpec): fc.Arbitrary<BodyCase> {
  return fc.constantFrom(...spec.fields).chain((field) =>
    fieldValues(field).map(({ value, valid }) => {
      const body = spec.base();
      setPath(body, field.path, value);
      return {
        kind: `${spec.label}: field ${field.path.join('.')}`,
        body: toJsonText(body),
        valid,
      };
    }),
  );
}

const UNKNOWN_KEYS = ['extra', '__proto__', 'constructor', '', '🚀', 'Queue', 'name '];

function unknownKeyCases(spec: BodySpec): fc.Arbitrary<BodyCase> {
  return fc
    .tuple(fc.constantFrom(...spec.strictObjects), fc.constantFrom(...UNKNOWN_KEYS))
    .map(([path, key]) => {
      const body = spec.base();
      setPath(body, [...path, key], 1);
      return {
        kind: `${spec.label}: unknown key "${key}" in ${path.join('.') || '(root)'}`,
        body: toJsonText(body),
        valid: false,
      };
    });
}

const INVALID_UTF8_SEQUENCES: readonly (readonly number[])[] = [
  [0xff],
  [0x80],
  [0xc0, 0xaf],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];

/**
 * Breaks the JSON text of a valid body, or makes changes that leave it legal. `anyJson`
 * means that the route takes any JSON value, so wrapping the body in an array keeps it legal.
 */
function textCases(
  label: string,
  validBody: () => unknown,
  anyJson = false,
): fc.Arbitrary<BodyCase> {
  const text = () => toJsonText(validBody());
  const cases: fc.Arbitrary<BodyCase>[] = [
    fc.nat().map((cut) => {
      const full = text();
      return { kind: `${label}: truncated`, body: full.slice(0, cut % full.length), valid: false };
    }),
    fc
      .constantFrom('x', '}', ']', ',', '[]', '{}', '"', '\u0000', 'null', '//', '/* */', ' 1')
      .map((garbage) => ({
        kind: `${label}: trailing ${JSON.stringify(garbage)}`,
        body: text() + garbage,
        valid: false,
      })),
    fc.constantFrom('', ' ', '\n\t ').map((blank) => ({
      kind: `${label}: blank body`,
      body: blank,
      valid: false,
    })),
    // RFC 8259 lets a parser ignore one leading byte order mark, and the API does.
    fc.constant({ kind: `${label}: byte order mark`, body: `\ufeff${text()}`, valid: true }),
    fc.constant({
      kind: `${label}: two byte order marks`,
      body: `\ufeff\ufeff${text()}`,
      valid: false,
    }),
    fc.constant({
      kind: `${label}: byte order mark after a space`,
      body: ` \ufeff${text()}`,
      valid: false,
    }),
    fc.constant({
      kind: `${label}: surrounding whitespace`,
      body: `\n ${text()} \r\n`,
      valid: true,
    }),
    fc.constant({ kind: `${label}: wrapped in an array`, body: `[${text()}]`, valid: anyJson }),
    fc.constantFrom(...INVALID_UTF8_SEQUENCES).chain((sequence) =>
      fc.nat().map((at) => {
        const bytes = new TextEncoder().encode(text());
        const position = at % (bytes.length + 1);
        const broken = new Uint8Array(bytes.length + sequence.length);
        broken.set(bytes.subarray(0, position), 0);
        broken.set(sequence, position);
        broken.set(bytes.subarray(position), position + sequence.length);
        return { kind: `${label}: invalid UTF-8 ${hex(sequence)}`, body: broken, valid: false };
      }),
    ),
    fc.constant({
      kind: `${label}: UTF-16 encoded`,
      body: new Uint8Array(Buffer.from(text(), 'utf16le')),
      valid: false,
    }),
  ];
  return fc.oneof(...cases);
}

/**
 * Repeats the first key of the first object in a valid body with a null value before it:
 * `{"k": null, "k": <valid>, ...}`. A parser that keeps the last value reads a legal body.
 */
function duplicateKeyCase(label: string, validBody: () => unknown): BodyCase {
  const full = toJsonText(validBody());
  const open = full.indexOf('{');
  const key = /^"(?:[^"\\]|\\.)*"/.exec(full.slice(open + 1))?.[0];
  if (key === undefined) throw new Error(`the ${label} base has no object with a key`);
  const body = `${full.slice(0, open + 1)}${key}:null,${full.slice(open + 1)}`;
  return { kind: `${label}: duplicate key ${key}`, body, valid: false };
}

function wholeBodyCases(label: string, isValidBody: Rule): fc.Arbitrary<BodyCase> {
  return fc.constantFrom(...ODD_VALUES, ...NOT_JSON_VALUES).map((value) => ({
    kind: `${label}: body ${describeValue(value)}`,
    body: toJsonText(value),
    valid: !(value instanceof RawJson && value.value === BAD_SYNTAX) && isValidBody(value),
  }));
}

function hex(bytes: readonly number[]): string {
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

function describeValue(value: unknown): string {
  const text = value instanceof RawJson ? value.text : toJsonText(value);
  return text.length > 40 ? `${text.slice(0, 40)}... (${text.length} characters)` : text;
}

// ---------------------------------------------------------------------------------------
// Worker registrations.

const URL_SAMPLES: ReadonlyArray<readonly [string, boolean]> = [
  // Only IP literals and "localhost" (rejected before any lookup), so that no case makes the
  // API resolve a host name.
  ['https://203.0.113.10/jobs', true],
  ['http://198.51.100.7:8080/run?x=1', true],
  ['https://[2001:db8::1]/hook', true],
  ['https://203.0.113.10/🚀/עברית', true],
  ['http://127.0.0.1:3000/', false],
  ['http://localhost/', false],
  ['http://169.254.169.254/latest/meta-data/', false],
  ['http://169.254.170.2/v2/credentials', false],
  ['http://10.0.0.1/', false],
  ['http://[::1]/', false],
  ['http://[::ffff:127.0.0.1]/', false],
  ['http://2130706433/', false],
  ['http://0x7f.1/', false],
  ['ftp://203.0.113.10/', false],
  ['https://user:secret@203.0.113.10/', false],
  ['javascript:alert(1)', false],
  ['/relative/path', false],
  ['https://', false],
  [`https://203.0.113.10/${'a'.repeat(2048)}`, false],
];

const FUNCTION_NAMES: ReadonlyArray<readonly [string, boolean]> = [
  ['thumbnails', true],
  ['thumbnails:live', true],
  ['arn:aws:lambda:eu-west-1:123456789012:function:thumbnails', true],
  ['123456789012:function:thumbnails', true],
  ['arn:aws:s3:::bucket', false],
  ['bad name', false],
  ['a'.repeat(171), false],
  ['thumbnails:', false],
];

const isFunctionName: Rule = (value) =>
  typeof value === 'string' && value.length <= 170 && /^[A-Za-z0-9._-]+$/.test(value);
const isQualifier: Rule = (value) =>
  typeof value === 'string' && /^(\$LATEST|[A-Za-z0-9_-]{1,128})$/.test(value);
const isRegion: Rule = (value) =>
  typeof value === 'string' && /^[a-z]{2}(-[a-z]+)+-\d$/.test(value);

const workerOptionFields: FieldSpec[] = [
  { path: ['opts'], rule: optional(isEmptyObject) },
  { path: ['opts', 'concurrency'], rule: optional(isInteger(1, 1000)) },
  { path: ['opts', 'globalConcurrency'], rule: optional(isInteger(1)) },
  {
    path: ['opts', 'limiter'],
    rule: optional(never),
    samples: [
      [{ max: 1, duration: 1 }, true],
      [{ max: 0, duration: 1000 }, false],
      [{ max: 10 }, false],
    ],
  },
  { path: ['opts', 'limiter', 'max'], rule: isInteger(1) },
  { path: ['opts', 'limiter', 'duration'], rule: isInteger(1, MAX_TIMER_MS) },
  { path: ['opts', 'removeOnComplete'], rule: optional(isKeepJobs) },
  { path: ['opts', 'removeOnFail'], rule: optional(isKeepJobs) },
  { path: ['opts', 'maxStalledCount'], rule: optional(isInteger(0, 1000)) },
  { path: ['opts', 'stalledInterval'], rule: optional(isInteger(1, MAX_TIMER_MS)) },
  { path: ['opts', 'lockDuration'], rule: optional(isInteger(1, MAX_TIMER_MS)) },
];

const workerOptions = () => ({
  concurrency: 2,
  globalConcurrency: 5,
  limiter: { max: 10, duration: 1000 },
  removeOnComplete: { count: 100, age: 3600 },
  removeOnFail: 50,
  maxStalledCount: 1,
  stalledInterval: 30_000,
  lockDuration: 30_000,
});

const httpRegistration: BodySpec = {
  label: 'http worker',
  base: () => ({
    queue: 'orders',
    endpoint: {
      type: 'http',
      url: 'https://203.0.113.10/jobs',
      method: 'post',
      headers: { 'X-Api-Key': 'secret' },
      timeout: 5000,
      maxResponseBytes: 65_536,
      auth: { type: 'aws-iam', region: 'eu-west-1' },
    },
    opts: workerOptions(),
  }),
  fields: [
    { path: ['queue'], rule: isQueueName, anyText: true },
    {
      path: ['endpoint'],
      rule: never,
      samples: [
        [{ url: 'https://203.0.113.10/' }, true],
        [{ type: 'lambda', functionName: 'resize' }, true],
        [{ type: 'sqs', url: 'https://203.0.113.10/' }, false],
        [{ type: 'lambda', url: 'https://203.0.113.10/' }, false],
      ],
    },
    { path: ['endpoint', 'type'], rule: (value) => value === undefined || value === 'http' },
    { path: ['endpoint', 'url'], rule: never, samples: URL_SAMPLES },
    {
      path: ['endpoint', 'method'],
      rule: optional(isMethod),
      samples: [
        ['PUT', true],
        ['patch', true],
        ['GET', false],
        ['DELETE', false],
      ],
    },
    {
      path: ['endpoint', 'headers'],
      rule: optional(isHeaders),
      samples: [
        [Object.fromEntries(Array.from({ length: 64 }, (_, index) => [`x-h${index}`, 'v'])), true],
        [Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`x-h${index}`, 'v'])), false],
        [{ Host: 'example.com' }, false],
        [{ 'Content-Length': '1' }, false],
        [{ 'Bad Name': 'v' }, false],
        [{ 'X-Ä': 'v' }, false],
        [{ ['x'.repeat(257)]: 'v' }, false],
        [{ 'X-Latin-1': 'café' }, true],
      ],
    },
    {
      path: ['endpoint', 'headers', 'X-Api-Key'],
      rule: optional(isHeaderValue),
      anyText: true,
      samples: [
        ['a\r\nInjected: 1', false],
        ['x'.repeat(8192), true],
        ['x'.repeat(8193), false],
        ['tab\tseparated', true],
      ],
    },
    { path: ['endpoint', 'timeout'], rule: optional(isInteger(1, MAX_TIMEOUT_MS)) },
    { path: ['endpoint', 'maxResponseBytes'], rule: optional(isInteger(1, MAX_RESPONSE_BYTES)) },
    {
      path: ['endpoint', 'auth'],
      rule: optional(never),
      samples: [
        [{ type: 'aws-iam' }, true],
        [{ type: 'basic' }, false],
        [{ type: 'aws-iam', region: 'EU' }, false],
      ],
    },
    { path: ['endpoint', 'auth', 'type'], rule: (value) => value === 'aws-iam' },
    { path: ['endpoint', 'auth', 'region'], rule: optional(isRegion) },
    ...workerOptionFields,
  ],
  strictObjects: [[], ['endpoint'], ['endpoint', 'auth'], ['opts'], ['opts', 'limiter']],
};

/** The BullMQ Proxy shape: no `type`, because the URL alone marks an HTTP endpoint. */
const proxyRegistration: BodySpec = {
  label: 'BullMQ Proxy worker',
  base: () => ({ queue: 'emails', endpoint: { url: 'https://203.0.113.11/send', method: 'POST' } }),
  fields: [
    { path: ['queue'], rule: isQueueName, anyText: true },
    { path: ['endpoint', 'url'], rule: never, samples: URL_SAMPLES },
    { path: ['endpoint', 'method'], rule: optional(isMethod) },
  ],
  strictObjects: [[], ['endpoint']],
};

const lambdaRegistration: BodySpec = {
  label: 'lambda worker',
  base: () => ({
    queue: 'thumbnails',
    endpoint: {
      type: 'lambda',
      functionName: 'resize',
      qualifier: 'live',
      timeout: 60_000,
      maxResponseBytes: 1_048_576,
      region: 'eu-west-1',
    },
    opts: workerOptions(),
  }),
  fields: [
    { path: ['queue'], rule: isQueueName, anyText: true },
    { path: ['endpoint', 'type'], rule: (value) => value === 'lambda' },
    { path: ['endpoint', 'functionName'], rule: isFunctionName, samples: FUNCTION_NAMES },
    { path: ['endpoint', 'qualifier'], rule: optional(isQualifier) },
    { path: ['endpoint', 'timeout'], rule: optional(isInteger(1, MAX_TIMEOUT_MS)) },
    { path: ['endpoint', 'maxResponseBytes'], rule: optional(isInteger(1, MAX_RESPONSE_BYTES)) },
    { path: ['endpoint', 'region'], rule: optional(isRegion) },
    ...workerOptionFields,
  ],
  strictObjects: [[], ['endpoint'], ['opts'], ['opts', 'limiter']],
};

// ---------------------------------------------------------------------------------------
// Jobs.

const jobOptionFields: FieldSpec[] = [
  { path: ['0', 'opts'], rule: optional(isEmptyObject) },
  { path: ['0', 'opts', 'attempts'], rule: optional(isInteger(1, 1_000_000)) },
  {
    path: ['0', 'opts', 'backoff'],
    rule: optional(isInteger(0)),
    samples: [
      [{ type: 'fixed' }, true],
      [{ type: 'fixed', delay: 0 }, true],
      [{ type: 'linear', delay: 10 }, false],
      [{ delay: 10 }, false],
    ],
  },
  {
    path: ['0', 'opts', 'backoff', 'type'],
    rule: (value) => value === 'fixed' || value === 'exponential',
  },
  { path: ['0', 'opts', 'backoff', 'delay'], rule: optional(isInteger(0)) },
  { path: ['0', 'opts', 'backoff', 'jitter'], rule: optional(isNumber(0, 1)) },
  { path: ['0', 'opts', 'delay'], rule: optional(isInteger(0)) },
  {
    path: ['0', 'opts', 'priority'],
    rule: optional(isInteger(0, PRIORITY_LIMIT)),
    samples: [
      [PRIORITY_LIMIT, true],
      [PRIORITY_LIMIT + 1, false],
      [2_097_152, false],
    ],
  },
  { path: ['0', 'opts', 'lifo'], rule: optional(isBoolean) },
  { path: ['0', 'opts', 'removeOnComplete'], rule: optional(isKeepJobs) },
  { path: ['0', 'opts', 'removeOnFail'], rule: optional(isKeepJobs) },
  { path: ['0', 'opts', 'keepLogs'], rule: optional(isInteger(1)) },
  { path: ['0', 'opts', 'stackTraceLimit'], rule: optional(isInteger(0, 100)) },
];

const plainJobs: BodySpec = {
  label: 'plain job',
  base: () => [
    {
      name: 'resize',
      data: { width: 100, tags: ['a', 'b'] },
      opts: {
        attempts: 3,
        backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
        delay: 0,
        priority: 5,
        lifo: false,
        removeOnComplete: { count: 10, age: 60 },
        removeOnFail: 100,
        keepLogs: 5,
        stackTraceLimit: 3,
      },
    },
    { name: 'second', data: null },
  ],
  fields: [
    { path: ['0', 'name'], rule: isJobName, anyText: true },
    { path: ['0', 'data'], rule: isStorableJson, anyText: true },
    { path: ['1'], rule: optional(never), samples: [[{ name: 'ok' }, true]] },
    ...jobOptionFields,
  ],
  strictObjects: [['0'], ['0', 'opts'], ['0', 'opts', 'backoff'], ['1']],
};

const jobsWithIds: BodySpec = {
  label: 'job with id',
  base: () => [
    { name: 'invoice', data: 1, opts: { jobId: 'invoice-17' } },
    { name: 'dedup', data: 2, opts: { deduplication: { id: 'report-3', ttl: 60_000 } } },
  ],
  fields: [
    {
      path: ['0', 'opts', 'jobId'],
      rule: optional(isJobId),
      anyText: true,
      samples: [
        ['order-1', true],
        ['007', false],
        ['a:b', false],
        ['x'.repeat(512), true],
        ['x'.repeat(513), false],
        ...[...QUEUE_KEY_NAMES].map((name): [string, boolean] => [name, false]),
      ],
    },
    { path: ['1', 'opts', 'deduplication'], rule: optional(never) },
    { path: ['1', 'opts', 'deduplication', 'id'], rule: isDeduplicationId, anyText: true },
    { path: ['1', 'opts', 'deduplication', 'ttl'], rule: optional(isInteger(1)) },
  ],
  strictObjects: [
    ['0', 'opts'],
    ['1', 'opts', 'deduplication'],
  ],
};

const FUTURE_ISO = '2099-01-01T00:00:00Z';
const MAX_DATE_MS = 8.64e15;

const repeatingJobs: BodySpec = {
  label: 'repeating job',
  base: () => [{ name: 'tick', data: { n: 1 }, opts: { repeat: { every: 60_000, limit: 5 } } }],
  fields: [
    {
      path: ['0', 'opts', 'repeat'],
      rule: optional(never),
      samples: [
        [{ pattern: '*/5 * * * *' }, true],
        [{ pattern: '0 9 * * 1', tz: 'Europe/Berlin' }, true],
        [{ pattern: '0 3 * * *', startDate: FUTURE_ISO }, true],
        [{ every: 1000, endDate: FUTURE_ISO }, true],
        [{ every: 1000, pattern: '* * * * *' }, false],
        [{ every: 0 }, false],
        [{ every: 1.5 }, false],
        [{ pattern: '' }, false],
        [{ pattern: 'not a cron pattern' }, false],
        [{ pattern: '0 0 30 2 *' }, false],
        [{ pattern: '* * * * *', tz: 'Mars/Olympus' }, false],
        [{ pattern: '* * * * *', immediately: true }, false],
        [{ every: 1000, endDate: 5 }, false],
        [{ every: 1000, endDate: '2000-01-01T00:00:00Z' }, false],
        [{ every: 1000, startDate: 2 ** 53 - 1 }, false],
        [{ every: 1000, startDate: MAX_DATE_MS + 1 }, false],
        [{ pattern: '* * * * *', startDate: MAX_DATE_MS + 1 }, false],
        [
          {
            pattern: '0 0 1 1 *',
            startDate: '2098-06-01T00:00:00Z',
            endDate: '2098-07-01T00:00:00Z',
          },
          false,
        ],
        [{ pattern: '* * * * *', startDate: '2099-01-02T00:00:00Z', endDate: FUTURE_ISO }, false],
        [{ every: 1000, immediately: true, startDate: FUTURE_ISO }, false],
      ],
    },
    { path: ['0', 'opts', 'repeat', 'every'], rule: isInteger(1) },
    { path: ['0', 'opts', 'repeat', 'limit'], rule: optional(isInteger(1)) },
    {
      path: ['0', 'opts', 'jobId'],
      rule: (value) => value === undefined,
      samples: [['with-id', false]],
    },
    {
      path: ['0', 'opts', 'deduplication'],
      rule: (value) => value === undefined,
      samples: [[{ id: 'd' }, false]],
    },
  ],
  strictObjects: [['0', 'opts', 'repeat']],
};

// ---------------------------------------------------------------------------------------
// Requests and envelopes: headers, auth, content types, queries.

type Expectation = 'accept' | 'reject' | 400 | 401 | 404 | 405 | 413 | 415;

interface FuzzRequest {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Sends the body as a stream with no Content-Length, as a chunked upload arrives. */
  readonly streamed?: boolean;
  readonly expected: Expectation;
  /** Runs before the request, for example to register the worker a DELETE removes. */
  readonly prepare?: (harness: Harness) => Promise<void>;
  /** Runs after a rejected request, to check that it changed nothing in `freshQueue`. */
  readonly verifyUnchanged?: (harness: Harness, freshQueue: string) => Promise<string | undefined>;
}

/** Replaced in a path by a queue name no other case uses. */
const FRESH_QUEUE = '{fresh-queue}';

const API_AUTH = `Bearer ${TOKEN}`;
const JSON_HEADERS = { authorization: API_AUTH, 'content-type': 'application/json' };

/** Returns `text` as Node's HTTP parser hands header bytes on, each byte one latin1 character. */
function asHeaderBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** The bytes ED A0 80 that a client encoding the lone surrogate U+D800 as CESU-8 sends. */
const CESU_SURROGATE = '\u00ed\u00a0\u0080';

const AUTH_VARIANTS: ReadonlyArray<readonly [string | undefined, boolean]> = [
  [undefined, false],
  ['', false],
  [`bearer ${TOKEN}`, true],
  [`BEARER\t${TOKEN}`, true],
  [`Bearer   ${TOKEN}`, true],
  ['Bearer', false],
  ['Bearer ', false],
  [`Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`, false],
  [`Token ${TOKEN}`, false],
  [`Bearer ${TOKEN}x`, false],
  [`Bearer ${TOKEN.slice(0, -1)}`, false],
  [`Bearer ${TOKEN} extra`, false],
  [`Bearer ${TOKEN},Bearer ${TOKEN}`, false],
  [`Bearer ${'x'.repeat(100_000)}`, false],
  [asHeaderBytes(`Bearer ${TOKEN}🚀`), false],
  [asHeaderBytes('Bearer \u202etoken'), false],
  [`Bearer ${CESU_SURROGATE}`, false],
  [`Bearer\u00a0${TOKEN}`, false],
];

const CONTENT_TYPES: ReadonlyArray<readonly [string | undefined, boolean]> = [
  [undefined, true],
  ['application/json', true],
  ['APPLICATION/JSON', true],
  ['application/json; charset=utf-8', true],
  ['application/json;charset=UTF-8', true],
  ['application/json; charset="utf-8"', true],
  ['text/plain; charset=us-ascii', true],
  ['application/json; charset=utf-16', false],
  ['application/json; charset=latin1', false],
  ['text/plain; charset=iso-8859-1', false],
  ['application/vnd.bullpen+json', true],
  ['text/plain', true],
  ['application/x-www-form-urlencoded', true],
  ['text/html', false],
  ['application/xml', false],
  ['multipart/form-data; boundary=x', false],
  ['application/octet-stream', false],
  ['image/png', false],
  ['*/*', false],
  ['json', false],
  [';', false],
  [';charset=utf-8', false],
  [asHeaderBytes('application/json🚀'), false],
  [`application/${'x'.repeat(10_000)}`, false],
];

const NEUTRAL_HEADERS: ReadonlyArray<Record<string, string>> = [
  { 'x-padding': 'a'.repeat(64 * 1024) },
  Object.fromEntries(Array.from({ length: 300 }, (_, index) => [`x-extra-${index}`, 'v'])),
  { 'x-unicode': asHeaderBytes('🚀 שלום \u202e') },
  { 'x-lone-surrogate': CESU_SURROGATE },
  { 'user-agent': '', accept: 'application/xml', 'accept-encoding': 'br;q=2' },
  { 'x-request-id': 'a'.repeat(10_000) },
];

interface Envelope {
  readonly kind: string;
  readonly apply: (headers: Record<string, string>) => Record<string, string>;
  /** The status when the rest of the request is legal. */
  readonly invalidStatus?: 401 | 415;
}

function withHeader(name: string, value: string | undefined) {
  return (headers: Record<string, string>) => {
    const copy = { ...headers };
    if (value === undefined) delete copy[name];
    else copy[name] = value;
    return copy;
  };
}

interface EnvelopeOptions {
  readonly auth: boolean;
  readonly body: boolean;
  /** The route reads a text/plain body as raw text, so that content type changes the verdict. */
  readonly rawPlainText?: boolean;
}

function envelopes(options: EnvelopeOptions): fc.Arbitrary<Envelope> {
  const choices: fc.Arbitrary<Envelope>[] = [
    fc.constantFrom(...NEUTRAL_HEADERS).map((extra) => ({
      kind: `headers ${Object.keys(extra).slice(0, 2).join(', ')}`,
      apply: (headers) => ({ ...headers, ...extra }),
    })),
  ];
  if (options.auth) {
    choices.push(
      fc.constantFrom(...AUTH_VARIANTS).map(([value, valid]) => ({
        kind: `Authorization ${describeHeader(value)}`,
        apply: withHeader('authorization', value),
        invalidStatus: valid ? undefined : 401,
      })),
    );
  }
  if (options.body) {
    choices.push(
      fc
        .constantFrom(
          // Such a route stores a text/plain body, with any charset it accepts, as the line
          // itself, so the verdict of a JSON body does not carry over.
          ...CONTENT_TYPES.filter(
            ([value, valid]) =>
              !(options.rawPlainText && valid && value?.toLowerCase().startsWith('text/plain')),
          ),
        )
        .map(([value, valid]) => ({
          kind: `Content-Type ${describeHeader(value)}`,
          apply: withHeader('content-type', value),
          invalidStatus: valid ? undefined : 415,
        })),
    );
  }
  return fc.oneof(...choices);
}

function describeHeader(value: string | undefined): string {
  if (value === undefined) return '(none)';
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

function applyEnvelope(request: FuzzRequest, envelope: Envelope): FuzzRequest {
  let expected = request.expected;
  if (envelope.invalidStatus !== undefined) {
    expected = request.expected === 'accept' ? envelope.invalidStatus : 'reject';
  }
  return {
    ...request,
    kind: `${request.kind}; ${envelope.kind}`,
    headers: envelope.apply({ ...request.headers }),
    expected,
  };
}

interface QueryCase {
  readonly text: string;
  readonly valid: boolean;
  readonly kind: string;
}

/** Queries for routes that take none, where any parameter is unknown. */
const UNEXPECTED_QUERIES: readonly string[] = [
  '?x=1',
  '?start=0',
  '?=1',
  '?%=1',
  '?a=%ZZ',
  '?a&a',
  `?${'k'.repeat(5000)}=1`,
  '?__proto__=1',
  '?%F0%9F%9A%80=%00',
];

function unexpectedQueryCases(): fc.Arbitrary<QueryCase> {
  return fc.constantFrom(...UNEXPECTED_QUERIES).map((text) => ({
    text,
    valid: false,
    kind: `query ${text.slice(0, 40)}`,
  }));
}

interface QueryParameter {
  readonly name: string;
  readonly values: ReadonlyArray<readonly [string, boolean]>;
}

const STATE_NAMES: readonly string[] = JOB_STATES;

function statusesValues(): ReadonlyArray<readonly [string, boolean]> {
  return [
    ['waiting', true],
    ['waiting,active', true],
    [encodeURIComponent(' waiting , failed '), true],
    ['waiting,waiting', true],
    [STATE_NAMES.join(','), true],
    ['paused,waiting-children', true],
    ['', false],
    [',', false],
    ['unknown', false],
    ['waiting,unknown', false],
    ['WAITING', false],
    [encodeURIComponent('🚀'), false],
    ['%', false],
    ['%ED%A0%80', false],
    [`waiting${',waiting'.repeat(200)}`, false],
  ];
}

function numberValues(max: number): ReadonlyArray<readonly [string, boolean]> {
  return [
    ['0', max >= 0],
    ['1', true],
    ['00001', true],
    [String(max), true],
    [String(max + 1), false],
    ['-1', false],
    ['1.5', false],
    ['', false],
    ['1e3', false],
    ['0x10', false],
    ['%201', false],
    ['1%20', false],
    ['+1', false],
    ['NaN', false],
    ['99999999999', false],
    [encodeURIComponent('١'), false],
    ['%', false],
    ['%G1', false],
  ];
}

function queryCases(parameters: readonly QueryParameter[]): fc.Arbitrary<QueryCase> {
  const pair = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...parameters)
        .chain((parameter) =>
          fc
            .constantFrom(...parameter.values)
            .map(([value, valid]) => ({ name: parameter.name, value, valid })),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('foo', 'START', 'start[]', 'statuses%5B%5D', '%00', 'lenght')
        .map((name) => ({ name, value: '1', valid: false })),
    },
  );
  return fc.array(pair, { minLength: 0, maxLength: 4 }).map((pairs) => {
    const names = pairs.map((entry) => entry.name);
    const repeated = new Set(names).size !== names.length;
    const text =
      pairs.length === 0
        ? ''
        : `?${pairs.map((entry) => `${entry.name}=${entry.value}`).join('&')}`;
    return {
      text,
      valid: !repeated && pairs.every((entry) => entry.valid),
      kind: `query ${text.length > 60 ? `${text.slice(0, 60)}...` : text || '(none)'}`,
    };
  });
}

// ---------------------------------------------------------------------------------------
// Path segments.

interface Segment {
  readonly text: string;
  readonly kind: string;
}

const BROKEN_ESCAPES = [
  '%',
  '%G1',
  '%C0%AF',
  '%ED%A0%80',
  '%E2%82',
  '%FF',
  'a%2',
  '%%41',
  '%c3%28',
  'q%',
];

/** Generates a queue name as a path segment, with the verdict of the queue name rule. */
function queueSegments(): fc.Arbitrary<Segment & { valid: boolean }> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: unicodeText
        .filter((name) => !LONE_SURROGATE.test(name) && name !== '.' && name !== '..')
        .map((name) => ({
          text: encodeURIComponent(name),
          valid: isQueueName(name),
          kind: `queue ${JSON.stringify(name.slice(0, 30))}`,
        })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...BROKEN_ESCAPES).map((text) => ({
        text,
        valid: false,
        kind: `queue segment ${text}`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          'a%3Ab',
          '%00',
          'q%1F',
          'q%7F',
          'x'.repeat(101),
          'x'.repeat(100),
          '%7Btag%7D',
          'a%2Fb',
          '%E2%80%AE',
        )
        .map((text) => ({
          text,
          valid: isQueueName(decodeURIComponent(text)),
          kind: `queue segment ${text.slice(0, 30)}`,
        })),
    },
  );
}

// ---------------------------------------------------------------------------------------
// Routes.

interface FuzzContext {
  readonly harness: Harness;
  /** Queue holding the jobs GET requests find. */
  readonly lookupQueue: string;
  readonly existingJobIds: readonly string[];
  /** Job ids that name other keys of the lookup queue: its lists, its logs, its scheduler. */
  readonly keyLikeJobIds: readonly string[];
  readonly callbackQueue: string;
  readonly callbackJobId: string;
  readonly jobToken: string;
}

interface RouteFuzz {
  readonly name: string;
  readonly count: number;
  readonly cases: (context: FuzzContext) => fc.Arbitrary<FuzzRequest>;
}

function bodyCasesFor(specs: readonly BodySpec[], isValidBody: Rule, label: string) {
  const valid = specs[0] as BodySpec;
  return fc.oneof(
    { weight: 8, arbitrary: fc.oneof(...specs.map(fieldCases)) },
    { weight: 2, arbitrary: fc.oneof(...specs.map(unknownKeyCases)) },
    { weight: 2, arbitrary: wholeBodyCases(label, isValidBody) },
    { weight: 3, arbitrary: textCases(label, valid.base) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...specs).map((spec) => duplicateKeyCase(label, spec.base)),
    },
  );
}

function jsonPost(
  path: string,
  bodies: fc.Arbitrary<BodyCase>,
  options: { auth?: string } = {},
): fc.Arbitrary<FuzzRequest> {
  const authorization = options.auth ?? API_AUTH;
  return bodies.map((body) => ({
    kind: body.kind,
    method: 'POST',
    path,
    headers: { authorization, 'content-type': 'application/json' },
    body: body.body,
    expected: body.valid ? 'accept' : 'reject',
  }));
}

/** Generates a valid body just over the body limit, sent with or without Content-Length. */
function oversizedCases(path: string, validBody: () => unknown): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 4096 })).map(([streamed, extra]) => {
    const body = toJsonText(validBody()) + ' '.repeat(MAX_BODY_BYTES + extra);
    return {
      kind: `body ${extra} bytes over the limit${streamed ? ', streamed' : ''}`,
      method: 'POST',
      path,
      headers: streamed
        ? JSON_HEADERS
        : { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(body)) },
      body,
      streamed,
      expected: 413,
    };
  });
}

function withEnvelopes(
  requests: fc.Arbitrary<FuzzRequest>,
  options: EnvelopeOptions,
): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    { weight: 4, arbitrary: requests },
    {
      weight: 1,
      arbitrary: fc
        .tuple(requests, envelopes(options))
        .map(([request, envelope]) => applyEnvelope(request, envelope)),
    },
  );
}

function withQuery(
  requests: fc.Arbitrary<FuzzRequest>,
  queries: fc.Arbitrary<QueryCase>,
): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(requests, queries).map(([request, query]) => ({
    ...request,
    kind: `${request.kind}; ${query.kind}`,
    path: `${request.path}${query.text}`,
    expected: query.valid ? request.expected : 'reject',
  }));
}

const workerSpecs = [httpRegistration, proxyRegistration, lambdaRegistration];
const jobSpecs = [plainJobs, jobsWithIds, repeatingJobs];

/** BullMQ appends an event for every job it adds, so an empty event stream means no job. */
async function noJobsAdded(harness: Harness, queue: string): Promise<string | undefined> {
  const events = await harness.redis.exists(`${harness.prefix}:${queue}:events`);
  return events === 0 ? undefined : `the rejected request added jobs to queue "${queue}"`;
}

const ROUTES: readonly RouteFuzz[] = [
  {
    name: 'POST /workers',
    count: 260,
    cases: () =>
      fc.oneof(
        {
          weight: 10,
          arbitrary: withEnvelopes(
            jsonPost('/workers', bodyCasesFor(workerSpecs, never, 'registration')),
            { auth: true, body: true },
          ),
        },
        {
          weight: 1,
          arbitrary: withQuery(
            jsonPost(
              '/workers',
              fc.constant({
                kind: 'valid registration',
                body: toJsonText(httpRegistration.base()),
                valid: true,
              }),
            ),
            unexpectedQueryCases(),
          ),
        },
        { weight: 1, arbitrary: oversizedCases('/workers', httpRegistration.base) },
      ),
  },
  {
    name: 'GET /workers',
    count: 60,
    cases: () =>
      fc.oneof(
        {
          weight: 3,
          arbitrary: withEnvelopes(
            fc.constant<FuzzRequest>({
              kind: 'list workers',
              method: 'GET',
              path: '/workers',
              headers: JSON_HEADERS,
              expected: 'accept',
            }),
            { auth: true, body: false },
          ),
        },
        {
          weight: 1,
          arbitrary: withQuery(
            fc.constant<FuzzRequest>({
              kind: 'list workers',
              method: 'GET',
              path: '/workers',
              headers: JSON_HEADERS,
              expected: 'accept',
            }),
            unexpectedQueryCases(),
          ),
        },
      ),
  },
  {
    name: 'DELETE /workers/:queue',
    count: 100,
    cases: () =>
      withEnvelopes(
        fc.tuple(queueSegments(), fc.boolean()).map(([segment, registered]): FuzzRequest => {
          const queue = segment.valid ? decodeURIComponent(segment.text) : undefined;
          return {
            kind: `${segment.kind}${registered && queue ? ', registered' : ''}`,
            method: 'DELETE',
            path: `/workers/${segment.text}`,
            headers: JSON_HEADERS,
            expected: registered && queue ? 'accept' : 'reject',
            prepare:
              queue === undefined
                ? undefined
                : (harness) => setRegistered(harness, queue, registered),
          };
        }),
        { auth: true, body: false },
      ),
  },
  {
    name: 'POST /queues/:queue/jobs',
    count: 300,
    cases: () =>
      fc.oneof(
        {
          weight: 10,
          arbitrary: withEnvelopes(
            bodyCasesFor(jobSpecs, never, 'jobs').map((body): FuzzRequest => ({
              kind: body.kind,
              method: 'POST',
              path: `/queues/${FRESH_QUEUE}/jobs`,
              headers: JSON_HEADERS,
              body: body.body,
              expected: body.valid ? 'accept' : 'reject',
              verifyUnchanged: noJobsAdded,
            })),
            { auth: true, body: true },
          ),
        },
        {
          weight: 2,
          arbitrary: fc
            .constantFrom(
              ['1001 jobs', Array.from({ length: 1001 }, () => ({ name: 'n' })), false] as const,
              ['1000 jobs', Array.from({ length: 1000 }, () => ({ name: 'n' })), true] as const,
              ['10000 numbers', TEN_THOUSAND_ZEROS, false] as const,
              ['no jobs', [], false] as const,
              ['one valid, one invalid job', [{ name: 'ok' }, { name: '' }], false] as const,
              ['1 MB data', [{ name: 'big', data: ONE_MB_TEXT }], true] as const,
              ['10000-element data', [{ name: 'wide', data: TEN_THOUSAND_ZEROS }], true] as const,
            )
            .map(([kind, body, valid]): FuzzRequest => ({
              kind,
              method: 'POST',
              path: `/queues/${FRESH_QUEUE}/jobs`,
              headers: JSON_HEADERS,
              body: toJsonText(body),
              expected: valid ? 'accept' : 'reject',
              verifyUnchanged: noJobsAdded,
            })),
        },
        {
          weight: 2,
          arbitrary: queueSegments().map((segment): FuzzRequest => ({
            kind: segment.kind,
            method: 'POST',
            path: `/queues/${segment.text}/jobs`,
            headers: JSON_HEADERS,
            body: '[{"name":"n"}]',
            expected: segment.valid ? 'accept' : 'reject',
          })),
        },
        {
          weight: 1,
          arbitrary: withQuery(
            fc.constant<FuzzRequest>({
              kind: 'valid job',
              method: 'POST',
              path: '/queues/fuzz-query/jobs',
              headers: JSON_HEADERS,
              body: '[{"name":"n"}]',
              expected: 'accept',
            }),
            unexpectedQueryCases(),
          ),
        },
        { weight: 1, arbitrary: oversizedCases('/queues/fuzz-oversized/jobs', plainJobs.base) },
      ),
  },
  {
    name: 'GET /queues/:queue/jobs',
    count: 120,
    cases: ({ lookupQueue }) =>
      withEnvelopes(
        fc.oneof(
          {
            weight: 3,
            arbitrary: withQuery(
              fc.constant<FuzzRequest>({
                kind: 'list jobs',
                method: 'GET',
                path: `/queues/${lookupQueue}/jobs`,
                headers: JSON_HEADERS,
                expected: 'accept',
              }),
              queryCases([
                { name: 'statuses', values: statusesValues() },
                { name: 'start', values: numberValues(1_000_000_000) },
                {
                  name: 'length',
                  values: numberValues(100)
                    .filter(([value]) => value !== '0')
                    .concat([['0', false]]),
                },
              ]),
            ),
          },
          {
            weight: 1,
            arbitrary: queueSegments().map((segment): FuzzRequest => ({
              kind: segment.kind,
              method: 'GET',
              path: `/queues/${segment.text}/jobs`,
              headers: JSON_HEADERS,
              expected: segment.valid ? 'accept' : 'reject',
            })),
          },
        ),
        { auth: true, body: false },
      ),
  },
  {
    name: 'GET /queues/:queue/jobs/:id',
    count: 100,
    cases: (context) =>
      withEnvelopes(
        jobIdRequests(context, (queue, id) => `/queues/${queue}/jobs/${id}`),
        { auth: true, body: false },
      ),
  },
  {
    name: 'GET /queues/:queue/jobs/:id/logs',
    count: 80,
    cases: (context) =>
      withEnvelopes(
        fc.oneof(
          {
            weight: 2,
            arbitrary: jobIdRequests(context, (queue, id) => `/queues/${queue}/jobs/${id}/logs`),
          },
          {
            weight: 1,
            arbitrary: withQuery(
              fc.constant<FuzzRequest>({
                kind: 'read logs',
                method: 'GET',
                path: `/queues/${context.lookupQueue}/jobs/${context.existingJobIds[0]}/logs`,
                headers: JSON_HEADERS,
                expected: 'accept',
              }),
              queryCases([
                { name: 'start', values: numberValues(1_000_000_000) },
                {
                  name: 'length',
                  values: numberValues(1000)
                    .filter(([value]) => value !== '0')
                    .concat([['0', false]]),
                },
              ]),
            ),
          },
        ),
        { auth: true, body: false },
      ),
  },
  {
    name: 'POST /queues/:queue/jobs/:id/progress',
    count: 100,
    cases: (context) => callbackCases(context, 'progress'),
  },
  {
    name: 'POST /queues/:queue/jobs/:id/logs',
    count: 100,
    cases: (context) => callbackCases(context, 'logs'),
  },
  { name: 'GET /health', count: 40, cases: () => publicRouteCases('/health') },
  { name: 'GET /ready', count: 40, cases: () => publicRouteCases('/ready') },
  {
    name: 'GET /openapi.json',
    count: 40,
    cases: () =>
      fc.oneof(
        {
          weight: 3,
          arbitrary: withEnvelopes(
            fc.constant<FuzzRequest>({
              kind: 'document',
              method: 'GET',
              path: '/openapi.json',
              headers: JSON_HEADERS,
              expected: 'accept',
            }),
            { auth: true, body: false },
          ),
        },
        {
          weight: 1,
          arbitrary: withQuery(
            fc.constant<FuzzRequest>({
              kind: 'document',
              method: 'GET',
              path: '/openapi.json',
              headers: JSON_HEADERS,
              expected: 'accept',
            }),
            unexpectedQueryCases(),
          ),
        },
      ),
  },
  { name: 'unknown paths and methods', count: 100, cases: () => unknownRouteCases() },
];

/** Registers a worker for `queue`, or removes it, so that a DELETE has a known outcome. */
async function setRegistered(harness: Harness, queue: string, registered: boolean): Promise<void> {
  if (!registered) {
    await new WorkerRegistry(harness.redis, harness.prefix).remove(queue);
    return;
  }
  const response = await harness.send('POST', '/workers', {
    ...(proxyRegistration.base() as object),
    queue,
  });
  if (response.status !== 200)
    throw new Error(`registering "${queue}" failed with ${response.status}`);
}

function jobIdRequests(
  context: FuzzContext,
  pathFor: (queue: string, id: string) => string,
): fc.Arbitrary<FuzzRequest> {
  const { lookupQueue } = context;
  const get = (kind: string, queue: string, id: string, expected: Expectation): FuzzRequest => ({
    kind,
    method: 'GET',
    path: pathFor(queue, id),
    headers: JSON_HEADERS,
    expected,
  });
  return fc.oneof(
    fc
      .constantFrom(...context.existingJobIds)
      .map((id) => get(`job ${id}`, lookupQueue, encodeURIComponent(id), 'accept')),
    fc
      .constantFrom(...context.keyLikeJobIds)
      .map((id) => get(`key-like id ${id}`, lookupQueue, encodeURIComponent(id), 'reject')),
    unicodeText
      .filter(
        (id) =>
          !LONE_SURROGATE.test(id) &&
          id !== '.' &&
          id !== '..' &&
          !context.existingJobIds.includes(id),
      )
      .map((id) =>
        get(
          `unknown id ${JSON.stringify(id.slice(0, 30))}`,
          lookupQueue,
          encodeURIComponent(id),
          'reject',
        ),
      ),
    fc
      .constantFrom(...BROKEN_ESCAPES, 'x'.repeat(1025), '%00')
      .map((id) => get(`id segment ${id.slice(0, 30)}`, lookupQueue, id, 'reject')),
    queueSegments().map((segment) => get(segment.kind, segment.text, 'no-such-job', 'reject')),
  );
}

function callbackCases(
  context: FuzzContext,
  action: 'progress' | 'logs',
): fc.Arbitrary<FuzzRequest> {
  const { callbackQueue, callbackJobId, jobToken } = context;
  const path = `/queues/${callbackQueue}/jobs/${callbackJobId}/${action}`;
  const jobAuth = `Bearer ${jobToken}`;

  const bodies: fc.Arbitrary<BodyCase> =
    action === 'progress'
      ? fc.oneof(
          { weight: 3, arbitrary: wholeBodyCases('progress', isStorableJson) },
          {
            weight: 2,
            arbitrary: textCases('progress', () => ({ percent: 50, step: 'resize' }), true),
          },
          {
            weight: 1,
            arbitrary: fc.constant(duplicateKeyCase('progress', () => ({ percent: 50, step: 2 }))),
          },
          {
            weight: 1,
            arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({
              kind: 'progress: generated JSON',
              body: JSON.stringify(value),
              valid: true,
            })),
          },
        )
      : fc.oneof(
          { weight: 3, arbitrary: wholeBodyCases('log line', isLogLine) },
          { weight: 2, arbitrary: textCases('log line', () => 'resized 3 of 10 images') },
          {
            weight: 1,
            arbitrary: unicodeText.map((line) => ({
              kind: 'log line: unicode',
              body: JSON.stringify(line),
              valid: isLogLine(line),
            })),
          },
          {
            weight: 1,
            arbitrary: fc.constantFrom(16 * 1024, 16 * 1024 + 1).map((length) => ({
              kind: `log line: ${length} characters`,
              body: JSON.stringify('x'.repeat(length)),
              valid: length <= 16 * 1024,
            })),
          },
        );

  const requests = jsonPost(path, bodies, { auth: jobAuth });
  const plainTextLogs: fc.Arbitrary<FuzzRequest> = fc
    .oneof(
      unicodeText.map((line) => {
        // TextEncoder writes U+FFFD for a lone surrogate, so the API receives valid UTF-8.
        const bytes = new TextEncoder().encode(line);
        return { line: bytes, valid: isLogLine(new TextDecoder().decode(bytes)), kind: 'unicode' };
      }),
      fc.constantFrom(16 * 1024, 16 * 1024 + 1).map((length) => ({
        line: new TextEncoder().encode('y'.repeat(length)),
        valid: length <= 16 * 1024,
        kind: `${length} characters`,
      })),
      fc.constantFrom(...INVALID_UTF8_SEQUENCES).map((sequence) => ({
        line: new Uint8Array([0x61, ...sequence, 0x62]),
        valid: false,
        kind: `invalid UTF-8 ${hex(sequence)}`,
      })),
    )
    .map(({ line, valid, kind }) => ({
      kind: `text/plain log line: ${kind}`,
      method: 'POST',
      path,
      headers: { authorization: jobAuth, 'content-type': 'text/plain' },
      body: line,
      expected: valid ? 'accept' : 'reject',
    }));

  const tokens: fc.Arbitrary<FuzzRequest> = fc
    .constantFrom<readonly [string, string | undefined]>(
      ['the API token', API_AUTH],
      ['no token', undefined],
      ['a lowercase scheme', `bearer ${jobToken}`],
      ['another token', 'Bearer 00000000-0000-0000-0000-000000000000'],
      ['a truncated token', `Bearer ${jobToken.slice(0, -1)}`],
      ['a token with unicode', asHeaderBytes(`Bearer ${jobToken}🚀`)],
      ['a very long token', `Bearer ${'t'.repeat(100_000)}`],
    )
    .map(([kind, authorization]) => ({
      kind: `job token: ${kind}`,
      method: 'POST',
      path,
      headers: withHeader('authorization', authorization)({ 'content-type': 'application/json' }),
      body: action === 'progress' ? '42' : '"line"',
      expected: kind === 'a lowercase scheme' ? 'accept' : 'reject',
    }));

  const paths: fc.Arbitrary<FuzzRequest> = fc
    .oneof(
      queueSegments().map((segment) => ({
        text: `/queues/${segment.text}/jobs/${callbackJobId}/${action}`,
        kind: segment.kind,
      })),
      fc
        .constantFrom(...BROKEN_ESCAPES, '999999', 'wait', 'meta', `${callbackJobId}%3Alock`)
        .map((id) => ({
          text: `/queues/${callbackQueue}/jobs/${id}/${action}`,
          kind: `job id ${id}`,
        })),
    )
    .map(({ text, kind }) => ({
      kind,
      method: 'POST',
      path: text,
      headers: { authorization: jobAuth, 'content-type': 'application/json' },
      body: action === 'progress' ? '42' : '"line"',
      expected: 'reject',
    }));

  return fc.oneof(
    {
      weight: 6,
      arbitrary: withEnvelopes(requests, {
        auth: false,
        body: true,
        rawPlainText: action === 'logs',
      }),
    },
    ...(action === 'logs' ? [{ weight: 2, arbitrary: plainTextLogs }] : []),
    { weight: 1, arbitrary: tokens },
    { weight: 1, arbitrary: paths },
    {
      weight: 1,
      arbitrary: oversizedCases(path, () => (action === 'progress' ? 42 : 'line')).map(
        (request) => ({ ...request, headers: { ...request.headers, authorization: jobAuth } }),
      ),
    },
  );
}

function publicRouteCases(path: string): fc.Arbitrary<FuzzRequest> {
  const get: FuzzRequest = { kind: 'probe', method: 'GET', path, headers: {}, expected: 'accept' };
  return fc.oneof(
    // Probes need no token, so any Authorization value and any query are ignored.
    fc.constantFrom(...AUTH_VARIANTS).map(([authorization]) => ({
      ...get,
      kind: `Authorization ${describeHeader(authorization)}`,
      headers: withHeader('authorization', authorization)({}),
    })),
    fc
      .constantFrom(...UNEXPECTED_QUERIES, '?start=-1&start=2')
      .map((query) => ({ ...get, kind: `query ${query}`, path: `${path}${query}` })),
    fc
      .constantFrom(...NEUTRAL_HEADERS)
      .map((headers) => ({ ...get, kind: 'odd headers', headers })),
    fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS').map((method) => ({
      ...get,
      kind: `method ${method}`,
      method,
      headers: JSON_HEADERS,
      body: method === 'OPTIONS' ? undefined : '{}',
      expected: 'reject' as const,
    })),
    fc
      .constantFrom(`${path}/`, `${path}/x`, path.toUpperCase(), `${path}%00`, `${path}%`)
      .map((variant) => ({
        ...get,
        kind: `path ${variant}`,
        path: variant,
        headers: JSON_HEADERS,
        expected: 'reject' as const,
      })),
  );
}

const ROUTE_METHODS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['/workers', ['PUT', 'PATCH', 'DELETE']],
  ['/workers/q', ['GET', 'POST', 'PUT', 'PATCH']],
  ['/queues/q/jobs', ['PUT', 'PATCH', 'DELETE']],
  ['/queues/q/jobs/1', ['POST', 'PUT', 'PATCH', 'DELETE']],
  ['/queues/q/jobs/1/progress', ['GET', 'PUT', 'DELETE']],
  ['/queues/q/jobs/1/logs', ['PUT', 'PATCH', 'DELETE']],
  ['/openapi.json', ['POST', 'DELETE']],
];

function unknownRouteCases(): fc.Arbitrary<FuzzRequest> {
  const methods = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
  const segment = fc.oneof(
    unicodeText.filter((text) => !LONE_SURROGATE.test(text)).map(encodeURIComponent),
    fc.constantFrom(...BROKEN_ESCAPES),
  );
  const paths = fc.oneof(
    fc.tuple(segment).map(([first]) => `/api/${first}`),
    fc.tuple(segment, segment).map(([a, b]) => `/queues/${a}/jobs/${b}/x/${b}`),
    fc.tuple(segment).map(([a]) => `/queues/${a}`),
    fc.tuple(segment).map(([a]) => `/workers/${a}/extra`),
    fc.constantFrom(
      '/',
      '/queues',
      '/queues/',
      '//workers',
      '/workers/',
      '/Workers',
      '/openapi.yaml',
      '/queues/q/jobs/1/progress/',
    ),
  );
  return fc.oneof(
    fc.tuple(methods, paths).map(([method, path]) => ({
      kind: 'unknown path',
      method,
      path,
      headers: JSON_HEADERS,
      body: method === 'GET' || method === 'OPTIONS' ? undefined : '{}',
      expected: 'reject' as const,
    })),
    fc.constantFrom(...ROUTE_METHODS).chain(([path, wrongMethods]) =>
      fc.constantFrom(...wrongMethods).map((method) => ({
        kind: 'wrong method',
        method,
        path,
        headers: JSON_HEADERS,
        body: method === 'GET' ? undefined : '{}',
        expected: 405 as const,
      })),
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Sending and checking.

/**
 * Fails the run before a registration could make the API resolve a host name, which would
 * send a DNS query off this machine. The URL samples use IP literals and "localhost" only.
 */
function assertNoHostLookup(request: FuzzRequest): void {
  if (request.method !== 'POST' || !request.path.startsWith('/workers')) return;
  if (typeof request.body !== 'string') return;
  let url: URL;
  try {
    const body = JSON.parse(request.body) as { endpoint?: { url?: unknown } };
    url = new URL(String(body.endpoint?.url));
  } catch {
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(host) === 0 && host !== 'localhost') {
    throw new Error(`the generator produced a registration for host "${host}"`);
  }
}

/** Text that would mean internal details reached the client. */
const LEAK_PATTERNS: readonly RegExp[] = [
  /\n\s+at /,
  /\bat [\w.<>]+ \(/,
  /ERR /,
  /WRONGTYPE|NOSCRIPT|READONLY/,
  /\b(?:Type|Range|Reference|Syntax|Reply)Error\b/,
  /Maximum call stack/,
  /node_modules|\/work\/|\/home\/|\/usr\/|\/tmp\//,
  // A source file and line. A leading name pattern would backtrack over long bodies.
  /\.(?:ts|js|cjs|mjs):\d+/,
  /user_script:\d+/,
];

function toRequestInit(request: FuzzRequest): RequestInit {
  const init: RequestInit & { duplex?: 'half' } = {
    method: request.method,
    headers: request.headers,
  };
  if (request.body === undefined) return init;

  const bytes =
    typeof request.body === 'string' ? new TextEncoder().encode(request.body) : request.body;
  if (request.streamed) {
    init.body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 64 * 1024) {
          controller.enqueue(bytes.subarray(offset, offset + 64 * 1024));
        }
        controller.close();
      },
    });
    init.duplex = 'half';
  } else {
    init.body = bytes;
  }
  return init;
}

function requestText(request: FuzzRequest): string {
  const body =
    request.body === undefined
      ? ''
      : typeof request.body === 'string'
        ? request.body
        : Buffer.from(request.body).toString('utf8');
  let path = request.path;
  try {
    path = decodeURIComponent(request.path);
  } catch {
    // The broken escapes are the point of some cases.
  }
  return `${request.method} ${path} ${JSON.stringify(request.headers)} ${body}`;
}

function describeRequest(request: FuzzRequest): string {
  const body =
    request.body === undefined
      ? '(none)'
      : typeof request.body === 'string'
        ? JSON.stringify(
            request.body.length > 300 ? `${request.body.slice(0, 300)}...` : request.body,
          ) + ` (${request.body.length} characters)`
        : `${hex([...request.body.subarray(0, 120)])}${request.body.length > 120 ? ' ...' : ''} (${request.body.length} bytes)`;
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name,
      value.length > 80 ? `${value.slice(0, 80)}... (${value.length} characters)` : value,
    ]),
  );
  const path = request.path.length > 200 ? `${request.path.slice(0, 200)}...` : request.path;
  return `${request.method} ${path}\n    kind: ${request.kind}\n    headers: ${JSON.stringify(headers)}\n    body: ${body}${request.streamed ? ' (streamed)' : ''}`;
}

function statusMatches(status: number, expected: Expectation): boolean {
  if (expected === 'accept') return status >= 200 && status < 300;
  if (expected === 'reject') return status >= 400 && status < 500;
  return status === expected;
}

/** Returns what is wrong with the response, or undefined when it is what the rules say. */
async function checkResponse(
  request: FuzzRequest,
  response: Response,
): Promise<string | undefined> {
  const text = await response.text();
  const preview = text.length > 300 ? `${text.slice(0, 300)}...` : text;

  if (!statusMatches(response.status, request.expected)) {
    return `expected ${request.expected}, got ${response.status}: ${preview}`;
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.includes('application/json')) {
    return `Content-Type is "${contentType}", not JSON: ${preview}`;
  }

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `body is not JSON: ${preview}`;
  }
  if (response.status >= 400) {
    const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
    if (
      typeof error?.code !== 'string' ||
      error.code === '' ||
      typeof error.message !== 'string' ||
      error.message === ''
    ) {
      return `error body lacks error.code and error.message: ${preview}`;
    }
  }

  const sent = requestText(request);
  for (const pattern of LEAK_PATTERNS) {
    const match = pattern.exec(text);
    if (match && !sent.includes(match[0]))
      return `internal text ${JSON.stringify(match[0])} leaked: ${preview}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Tests.

let harness: Harness;
let setupConnection: Redis;
let context: FuzzContext;
const sentByRoute = new Map<string, { sent: number; accepted: number; rejected: number }>();

async function seedLookupQueue(queue: Queue) {
  const first = await queue.add('first', { n: 1 });
  const custom = await queue.add(
    'custom',
    { n: 2 },
    { jobId: 'custom-a', deduplication: { id: 'dedup-a' } },
  );
  await queue.addJobLog(String(first.id), 'a log line');
  const scheduled = await queue.upsertJobScheduler(
    'hourly',
    { pattern: '0 * * * *' },
    { name: 'tick' },
  );
  const ids = [String(first.id), String(custom.id), String(scheduled?.id)];
  const keyLike = [...QUEUE_KEY_NAMES].filter((name) => name !== '');
  keyLike.push(`${first.id}:logs`, 'repeat:hourly', 'de:dedup-a', 'metrics');
  return { ids, keyLike };
}

beforeAll(async () => {
  process.stdout.write(`API fuzz seed ${SEED}; rerun with FUZZ_SEED=${SEED}\n`);
  harness = await createHarness('fuzz', { MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
  setupConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });

  const lookup = new Queue('lookup', { connection: setupConnection, prefix: harness.prefix });
  const { ids, keyLike } = await seedLookupQueue(lookup);
  await lookup.close();

  const callbackQueue = 'callbacks';
  const callbacks = new Queue(callbackQueue, {
    connection: setupConnection,
    prefix: harness.prefix,
  });
  const added = await callbacks.add('running', { n: 3 });
  await callbacks.close();
  const jobToken = 'fuzz-job-token-7f3a';
  // A worker with no processor takes the job and holds its lock, as a dispatcher does while
  // the endpoint runs. The long lock keeps the token valid for the whole run.
  const worker = new Worker(callbackQueue, null, {
    connection: setupConnection,
    prefix: harness.prefix,
    lockDuration: 10 * 60 * 1000,
    autorun: false,
  });
  const active = await worker.getNextJob(jobToken);
  await worker.close();
  if (!active || active.id !== added.id) throw new Error('the callback job did not become active');

  context = {
    harness,
    lookupQueue: 'lookup',
    existingJobIds: ids,
    keyLikeJobIds: keyLike,
    callbackQueue,
    callbackJobId: String(added.id),
    jobToken,
  };
});

afterAll(async () => {
  const lines = [...sentByRoute].map(
    ([route, counts]) =>
      `  ${route}: ${counts.sent} (${counts.accepted} expecting 2xx, ${counts.rejected} expecting 4xx)`,
  );
  const total = [...sentByRoute.values()].reduce((sum, counts) => sum + counts.sent, 0);
  process.stdout.write(`API fuzz seed ${SEED}: ${total} requests\n${lines.join('\n')}\n`);
  await harness?.close();
  setupConnection?.disconnect();
});

describe('API fuzz', () => {
  test.each(ROUTES.map((route, index) => [route.name, route, index] as const))(
    '%s answers generated input by the rules',
    async (_name, route, index) => {
      const requests = fc.sample(route.cases(context), {
        seed: (SEED + index) | 0,
        numRuns: route.count,
      });
      const failures: string[] = [];
      const counts = { sent: 0, accepted: 0, rejected: 0 };

      for (const [caseIndex, generated] of requests.entries()) {
        const freshQueue = `fresh-${index}-${caseIndex}`;
        const request = { ...generated, path: generated.path.replace(FRESH_QUEUE, freshQueue) };
        assertNoHostLookup(request);
        await request.prepare?.(harness);
        const response = await harness.request(request.path, toRequestInit(request));
        counts.sent += 1;
        if (request.expected === 'accept') counts.accepted += 1;
        else counts.rejected += 1;

        let problem = await checkResponse(request, response);
        if (!problem && response.status >= 400 && request.verifyUnchanged) {
          problem = await request.verifyUnchanged(harness, freshQueue);
        }
        if (problem) {
          failures.push(
            `seed ${SEED}, ${route.name} case ${caseIndex}: ${problem}\n  ${describeRequest(request)}`,
          );
        }
      }
      sentByRoute.set(route.name, counts);

      expect(failures).toEqual([]);
      expect(counts.sent).toBe(route.count);
      if (route.name !== 'unknown paths and methods') expect(counts.accepted).toBeGreaterThan(0);
      expect(counts.rejected).toBeGreaterThan(0);
    },
    60_000,
  );
});

// Requests that once made the API fail, kept as single cases.
describe('API input regressions', () => {
  async function errorOf(response: Response) {
    expect(response.headers.get('content-type')).toContain('application/json');
    return (await json<{ error: { code: string; message: string } }>(response)).error;
  }

  test('job data past the depth limit is 400', async () => {
    const data = '['.repeat(5000) + ']'.repeat(5000);
    const response = await harness.request('/queues/deep/jobs', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: `[{"name":"deep","data":${data}}]`,
    });

    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toContain(`${MAX_JSON_DEPTH} levels`);
  });

  test('registration 100000 levels deep is 400', async () => {
    const value = '['.repeat(100_000) + ']'.repeat(100_000);
    const response = await harness.request('/workers', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: `{"queue":${value}}`,
    });

    expect(response.status).toBe(400);
  });

  test('job data at the depth limit is accepted', async () => {
    // The job list and the job object take two of the levels.
    const depth = MAX_JSON_DEPTH - 2;
    const response = await harness.request('/queues/deep/jobs', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: `[{"name":"deep","data":${'['.repeat(depth)}${']'.repeat(depth)}}]`,
    });

    expect(response.status).toBe(200);
  });

  test('job data one level too deep is 400', async () => {
    const depth = MAX_JSON_DEPTH - 1;
    const response = await harness.request('/queues/deep/jobs', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: `[{"name":"deep","data":${'['.repeat(depth)}${']'.repeat(depth)}}]`,
    });

    expect(response.status).toBe(400);
  });

  test('repeated key in a registration is 400', async () => {
    const body =
      '{"queue":"first","queue":"second","endpoint":{"url":"https://203.0.113.10/jobs"}}';
    const response = await harness.request('/workers', {
      method: 'POST',
      headers: JSON_HEADERS,
      body,
    });

    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toContain('"queue" appears more than once');
  });

  test('key repeated through an escape is 400', async () => {
    const body = '[{"name":"a","data":{"k":1,"\\u006b":2}}]';
    const response = await harness.request('/queues/dup/jobs', {
      method: 'POST',
      headers: JSON_HEADERS,
      body,
    });

    expect(response.status).toBe(400);
  });

  test('same key in sibling objects is accepted', async () => {
    const body = '[{"name":"a","data":[{"k":1},{"k":2}]},{"name":"b"}]';
    const response = await harness.request('/queues/dup/jobs', {
      method: 'POST',
      headers: JSON_HEADERS,
      body,
    });

    expect(response.status).toBe(200);
  });

  test('number beyond the double range is 400', async () => {
    for (const number of ['1e999', '-1e999', '1'.repeat(400)]) {
      const response = await harness.request('/queues/numbers/jobs', {
        method: 'POST',
        headers: JSON_HEADERS,
        body: `[{"name":"n","data":${number}}]`,
      });

      expect(response.status).toBe(400);
    }
  });

  test('largest doubles are accepted', async () => {
    const response = await harness.request('/queues/numbers/jobs', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: '[{"name":"n","data":[1e308,-1e308,5e-324,-0,9007199254740993]}]',
    });

    expect(response.status).toBe(200);
    const [job] = await json<Array<{ data: number[] }>>(response);
    expect(job?.data).toEqual([1e308, -1e308, 5e-324, 0, 9007199254740992]);
  });

  test('invalid UTF-8 in a body is 400', async () => {
    const bytes = new Uint8Array([...Buffer.from('[{"name":"'), 0xc0, 0xaf, ...Buffer.from('"}]')]);
    const response = await harness.request('/queues/utf8/jobs', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: bytes,
    });

    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toContain('not valid UTF-8');
  });

  test('invalid UTF-8 in a text log line is 400', async () => {
    const response = await harness.request(
      `/queues/${context.callbackQueue}/jobs/${context.callbackJobId}/logs`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${context.jobToken}`, 'content-type': 'text/plain' },
        body: new Uint8Array([0x61, 0xed, 0xa0, 0x80, 0x62]),
      },
    );

    expect(response.status).toBe(400);
  });

  test('one byte order mark is accepted, two are 400', async () => {
    const once = await harness.request('/queues/bom/jobs', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: '\ufeff[{"name":"bom"}]',
    });
    const twice = await harness.request('/queues/bom/jobs', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: '\ufeff\ufeff[{"name":"bom"}]',
    });

    expect(once.status).toBe(200);
    expect(twice.status).toBe(400);
  });

  test('Content-Type without a media type is 415', async () => {
    for (const contentType of [';', ';charset=utf-8', ' ; ']) {
      const response = await harness.request('/queues/media/jobs', {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'content-type': contentType },
        body: '[{"name":"n"}]',
      });

      expect(response.status).toBe(415);
      expect((await errorOf(response)).code).toBe('unsupported_media_type');
    }
  });

  test('job id naming another queue key is 404', async () => {
    for (const id of context.keyLikeJobIds) {
      for (const suffix of ['', '/logs']) {
        const path = `/queues/${context.lookupQueue}/jobs/${encodeURIComponent(id)}${suffix}`;
        const response = await harness.request(path, { headers: JSON_HEADERS });

        expect({ path, status: response.status }).toEqual({ path, status: 404 });
      }
    }
  });

  test('query parameter given twice is 400', async () => {
    const paths = [
      `/queues/${context.lookupQueue}/jobs?statuses=waiting&statuses=failed`,
      `/queues/${context.lookupQueue}/jobs?start=0&length=5&start=1`,
      `/queues/${context.lookupQueue}/jobs/${context.existingJobIds[0]}/logs?length=1&length=2`,
    ];
    for (const path of paths) {
      const response = await harness.request(path, { headers: JSON_HEADERS });

      expect({ path, status: response.status }).toEqual({ path, status: 400 });
    }
  });

  test('query on a route without parameters is 400', async () => {
    const requests: Array<[string, string]> = [
      ['GET', '/workers?x=1'],
      ['GET', '/workers?=1'],
      ['DELETE', '/workers/none?force=true'],
      ['GET', `/queues/${context.lookupQueue}/jobs/${context.existingJobIds[0]}?state=1`],
      ['POST', '/queues/query/jobs?__proto__=1'],
      ['GET', '/openapi.json?format=yaml'],
    ];
    for (const [method, path] of requests) {
      const response = await harness.request(path, {
        method,
        headers: JSON_HEADERS,
        body: method === 'POST' ? '[{"name":"n"}]' : undefined,
      });

      expect({ path, status: response.status }).toEqual({ path, status: 400 });
    }
  });
  test('header value undici rejects is 400', async () => {
    for (const value of ['🚀', 'a\u0001b', 'bell\u0007', 'del\u007f', 'Ā']) {
      const response = await harness.send('POST', '/workers', {
        queue: 'headers',
        endpoint: { url: 'https://203.0.113.10/', headers: { 'X-Key': value } },
      });

      expect({ value, status: response.status }).toEqual({ value, status: 400 });
    }
  });

  test('latin1 header value is accepted', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'headers',
      endpoint: { url: 'https://203.0.113.10/', headers: { 'X-Key': 'café\tÿ' } },
    });

    expect(response.status).toBe(200);
  });
  test('unschedulable repeat options are 400', async () => {
    const repeats = [
      { every: 1000, immediately: true, startDate: FUTURE_ISO },
      { every: 1000, startDate: MAX_DATE_MS + 1 },
      { pattern: '* * * * *', startDate: 2 ** 53 - 1 },
      { every: 1000, startDate: '2099-02-01T00:00:00Z', endDate: '2099-01-01T00:00:00Z' },
    ];
    for (const repeat of repeats) {
      const response = await harness.send('POST', '/queues/repeats/jobs', [
        { name: 'n', opts: { repeat } },
      ]);

      expect({ repeat, status: response.status }).toEqual({ repeat, status: 400 });
    }
  });

  test('repeat with no run left is 400', async () => {
    const repeats = [
      { every: 1000, endDate: 5 },
      { every: 1000, endDate: '2000-01-01T00:00:00Z' },
      { pattern: '0 0 1 1 *', startDate: '2098-06-01T00:00:00Z', endDate: '2098-07-01T00:00:00Z' },
    ];
    for (const [index, repeat] of repeats.entries()) {
      const queue = `no-run-${index}`;
      const response = await harness.send('POST', `/queues/${queue}/jobs`, [
        { name: 'plain' },
        { name: 'n', opts: { repeat } },
      ]);

      expect({ repeat, status: response.status }).toEqual({ repeat, status: 400 });
      expect(await noJobsAdded(harness, queue)).toBeUndefined();
    }
  });
  test('priority above BullMQ limit is 400', async () => {
    const highest = await harness.send('POST', '/queues/priority/jobs', [
      { name: 'n', opts: { priority: PRIORITY_LIMIT } },
    ]);
    const above = await harness.send('POST', '/queues/priority/jobs', [
      { name: 'n', opts: { priority: PRIORITY_LIMIT + 1 } },
    ]);

    expect(highest.status).toBe(200);
    expect(above.status).toBe(400);
  });
  test('custom job id naming a queue key is 400', async () => {
    const queue = context.lookupQueue;
    for (const jobId of QUEUE_KEY_NAMES) {
      if (jobId === '') continue;
      const response = await harness.send('POST', `/queues/${queue}/jobs`, [
        { name: 'n', opts: { jobId } },
      ]);

      expect({ jobId, status: response.status }).toEqual({ jobId, status: 400 });
    }
    expect(await harness.redis.type(`${harness.prefix}:${queue}:wait`)).toBe('list');
    expect(await harness.redis.type(`${harness.prefix}:${queue}:meta`)).toBe('hash');
  });
  test('unpaired surrogate in a stored string is 400', async () => {
    const cases: Array<[string, string, unknown]> = [
      ['/workers', 'queue', { queue: 'q\ud800', endpoint: { url: 'https://203.0.113.10/' } }],
      ['/queues/surrogates/jobs', '0.name', [{ name: '\udc00' }]],
      ['/queues/surrogates/jobs', '0.opts.jobId', [{ name: 'n', opts: { jobId: 'x\ud83d' } }]],
      [
        '/queues/surrogates/jobs',
        '0.opts.deduplication.id',
        [{ name: 'n', opts: { deduplication: { id: '\ud800x' } } }],
      ],
      [
        `/queues/${context.callbackQueue}/jobs/${context.callbackJobId}/logs`,
        '(body)',
        'line \ud800',
      ],
    ];
    for (const [path, field, body] of cases) {
      const response = await harness.send('POST', path, body, {
        authorization: path.endsWith('/logs') ? `Bearer ${context.jobToken}` : API_AUTH,
      });
      const issues = (await json<{ error: { issues?: Array<{ path: string }> } }>(response)).error
        .issues;

      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(issues?.map((issue) => issue.path)).toContain(field);
    }
  });
});

// Requests Node's HTTP parser rejects never reach the app, so they go to a real server.
describe('HTTP parser rejections', () => {
  const prefix = uniquePrefix('parser');
  let server: ApiServer;

  beforeAll(async () => {
    server = await startLoopbackApi(prefix);
  });

  afterAll(async () => {
    await server?.close();
    // The 100 Continue test adds a job.
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    await cleanupPrefix(redis, prefix);
    redis.disconnect();
  });

  /** Sends raw bytes and returns everything the server wrote before it closed. */
  function sendRaw(bytes: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = net.connect(server.port, '127.0.0.1', () => socket.write(bytes));
      socket.setTimeout(5000, () => socket.destroy(new Error('no response within 5000 ms')));
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
  }

  const requestLines = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  const cases: Array<[string, Buffer, number]> = [
    [
      'headers over 16 KiB',
      requestLines(['GET /workers HTTP/1.1', 'Host: a', `X-Pad: ${'a'.repeat(20_000)}`]),
      431,
    ],
    [
      'NUL in a header value',
      requestLines(['GET /workers HTTP/1.1', 'Host: a', 'X-A: a\u0000b']),
      400,
    ],
    ['space in the path', requestLines(['GET /queues/a b/jobs HTTP/1.1', 'Host: a']), 400],
    [
      'raw UTF-8 bytes in the path',
      requestLines(['GET /queues/\u00c3\u00a9/jobs HTTP/1.1', 'Host: a']),
      400,
    ],
    [
      'Content-Length that is not a number',
      requestLines(['POST /workers HTTP/1.1', 'Host: a', 'Content-Length: abc']),
      400,
    ],
    [
      'Content-Length with Transfer-Encoding',
      requestLines([
        'POST /workers HTTP/1.1',
        'Host: a',
        'Content-Length: 2',
        'Transfer-Encoding: chunked',
      ]),
      400,
    ],
    ['malformed request line', requestLines(['G@T /workers HTTP/1.1', 'Host: a']), 400],
    ['unknown HTTP version', requestLines(['GET /workers HTTP/9.9', 'Host: a']), 400],
    // The app keeps these connections open, so the requests ask for the close.
    ['no Host header', requestLines(['GET /workers HTTP/1.1', 'Connection: close']), 400],
    ['asterisk target', requestLines(['OPTIONS * HTTP/1.1', 'Host: a', 'Connection: close']), 400],
    [
      'invalid Host header',
      requestLines(['GET /workers HTTP/1.1', 'Host: a b', 'Connection: close']),
      400,
    ],
    [
      'two Host headers',
      requestLines(['GET /workers HTTP/1.1', 'Host: a', 'host: b', 'Connection: close']),
      400,
    ],
    ['CONNECT', requestLines(['CONNECT 127.0.0.1:80 HTTP/1.1', 'Host: 127.0.0.1:80']), 405],
    [
      'unknown Expect header',
      requestLines([
        'POST /queues/q/jobs HTTP/1.1',
        'Host: a',
        'Expect: bogus',
        'Content-Length: 2',
      ]),
      417,
    ],
    [
      'second Host header after 1,100 other headers',
      requestLines([
        'GET /workers HTTP/1.1',
        'Host: a',
        ...Array.from({ length: 1_100 }, () => 'x:1'),
        'Host: b',
        'Connection: close',
      ]),
      400,
    ],
    // The repeated Host makes the request invalid, whatever it expects.
    [
      'unknown Expect header with two Host headers',
      requestLines([
        'POST /queues/q/jobs HTTP/1.1',
        'Host: a',
        'Host: b',
        'Expect: bogus',
        'Content-Length: 2',
      ]),
      400,
    ],
  ];

  test('sends 100 Continue to one Host header', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = http.request({
        host: '127.0.0.1',
        port: server.port,
        method: 'POST',
        path: '/queues/continue/jobs',
        headers: {
          authorization: API_AUTH,
          'content-type': 'application/json',
          expect: '100-continue',
        },
      });
      // The body goes out only after the server's 100 Continue.
      request.on('continue', () => request.end('[{"name":"n"}]'));
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      request.on('error', reject);
      request.setTimeout(5000, () => request.destroy(new Error('no response within 5000 ms')));
    });

    expect(status).toBe(200);
  });

  test('sends no 100 Continue to two Host headers', async () => {
    const reply = await sendRaw(
      requestLines([
        'POST /queues/q/jobs HTTP/1.1',
        'Host: a',
        'Host: b',
        'Expect: 100-continue',
        'Content-Length: 2',
      ]),
    );

    expect(reply.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    expect(reply).not.toContain('100 Continue');
  });

  test.each(cases)('%s gets a JSON error', async (_name, bytes, status) => {
    const reply = await sendRaw(bytes);
    const [head = '', body = ''] = reply.split('\r\n\r\n');

    expect(head.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
    expect(head.toLowerCase()).toContain('content-type: application/json');
    const parsed = JSON.parse(body) as { error: { code: string; message: string } };
    expect(typeof parsed.error.code).toBe('string');
    expect(parsed.error.message.length).toBeGreaterThan(0);
  });
});
