'use strict';
// erpbridge's SAP OData test peer.
//
// The OData services are SAP's own Fiori tools mock server (@sap-ux/fe-mockserver-core), serving the EDMX
// metadata in services/*/metadata.xml with the data and behaviour files in services/*/data/ (the mock
// server's documented extension points: <EntitySet>.json initial data and <EntitySet>.js hooks).
//
// This file is the small Node http server around FEMockserver(...).getRouter() that the mock server's
// README asks for. Like SAP Gateway's HTTP layer (ICF) in front of the OData services, it checks the
// credentials (basic, or an OAuth client-credentials bearer token from /sap/bc/sec/oauth2/token), keeps a
// session per cookie and binds a CSRF token to it: a modifying request without that token gets
// 403 with "x-csrf-token: Required", as SAP answers.
//
// Usage: node server.js [port]   (port 0 or none: any free port). It prints one JSON line,
// {"port": N}, once every service answers. The credentials come from the environment:
// SAP_MOCK_USER / SAP_MOCK_PASSWORD, SAP_MOCK_CLIENT_ID / SAP_MOCK_CLIENT_SECRET.
//
// A $batch is answered 202 Accepted, as SAP Gateway does (the mock server says 200); the mock server's
// own $batch handling runs each part of a changeset through the same hooks (ETags, If-Match checks).
//
// Test controls (not SAP): POST /__control/invalidate-csrf forgets every CSRF token, as SAP does when a
// session ends; GET /__control/stats counts token fetches and rejections, OData requests and $batch requests.
//
// Beside the OData services, /sap/bc/idoc_xml stands in for SAP's IDoc XML HTTP inbound service (an ICF
// handler; there is no SAP tooling for it on npm, so this part is erpbridge's own, see SOURCES.md): it takes a
// POST of IDoc XML behind the same authentication, per sap-client, and keeps what it got. Controls:
// GET /__control/idocs?client=NNN lists the IDocs a client received (DOCNUMs and bodies);
// POST /__control/idoc-failures with a JSON list [{"status": 503, "retryAfter": "2", "body": "..."}]
// makes the next POSTs fail with those answers, one each.

const crypto = require('crypto');
const http = require('http');
const path = require('path');
const FEMockserver = require('@sap-ux/fe-mockserver-core').default;

const SERVICES = ['API_SALES_ORDER_SRV', 'API_OUTBOUND_DELIVERY_SRV;v=0002', 'API_MATERIAL_STOCK_SRV'];
const MODIFYING = new Set(['POST', 'PUT', 'PATCH', 'MERGE', 'DELETE']);
const TOKEN_PATH = '/sap/bc/sec/oauth2/token';
const IDOC_PATH = '/sap/bc/idoc_xml';
const IDOC_TYPES = new Set(['text/xml', 'application/xml', 'application/x-sap.idoc']);

const credentials = {
    user: process.env.SAP_MOCK_USER || 'ERPBRIDGE_COMM',
    password: process.env.SAP_MOCK_PASSWORD || '',
    clientId: process.env.SAP_MOCK_CLIENT_ID || '',
    clientSecret: process.env.SAP_MOCK_CLIENT_SECRET || ''
};
const sessions = new Map(); // session id -> {csrf: token | null}
const bearerTokens = new Set();
const stats = { csrfFetches: 0, csrfRejections: 0, tokensIssued: 0, idocPosts: 0, batches: 0, requests: 0 };
const idocs = new Map(); // sap-client -> [{docnums, body}]
const idocFailures = []; // answers for the next IDoc POSTs (a test control)

function equal(a, b) {
    const x = Buffer.from(String(a));
    const y = Buffer.from(String(b));
    return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function basicUser(header) {
    if (!header || !header.startsWith('Basic ')) {
        return null;
    }
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf-8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? null : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

function authenticated(req) {
    const header = req.headers.authorization || '';
    if (header.startsWith('Bearer ')) {
        return bearerTokens.has(header.slice(7));
    }
    const pair = basicUser(header);
    return pair !== null && credentials.password !== '' && equal(pair[0], credentials.user) && equal(pair[1], credentials.password);
}

function send(res, status, headers, body) {
    res.writeHead(status, headers);
    res.end(body);
}

function readBody(req) {
    return new Promise((resolve) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf-8')));
    });
}

async function oauthToken(req, res) {
    // OAuth 2.0 client credentials (RFC 6749 4.4): client authentication by basic auth or in the form body.
    const form = new URLSearchParams(await readBody(req));
    const pair = basicUser(req.headers.authorization) || [form.get('client_id'), form.get('client_secret')];
    if (form.get('grant_type') !== 'client_credentials') {
        return send(res, 400, { 'content-type': 'application/json' }, JSON.stringify({ error: 'unsupported_grant_type' }));
    }
    if (!credentials.clientId || !pair[0] || !equal(pair[0], credentials.clientId) || !equal(pair[1] || '', credentials.clientSecret)) {
        return send(res, 401, { 'content-type': 'application/json' }, JSON.stringify({ error: 'invalid_client' }));
    }
    const token = crypto.randomBytes(24).toString('hex');
    bearerTokens.add(token);
    stats.tokensIssued += 1;
    return send(res, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' },
        JSON.stringify({ access_token: token, token_type: 'bearer', expires_in: 3600 }));
}

function sessionOf(req, res) {
    const cookies = Object.fromEntries((req.headers.cookie || '').split(';').map((c) => c.trim().split('=')).filter((p) => p.length === 2));
    const name = 'SAP_SESSIONID_ERB_' + (new URL(req.url, 'http://x').searchParams.get('sap-client') || '000');
    let id = cookies[name];
    if (!id || !sessions.has(id)) {
        id = crypto.randomBytes(16).toString('hex');
        sessions.set(id, { csrf: null });
        res.setHeader('set-cookie', `${name}=${id}; path=/; HttpOnly`);
    }
    return sessions.get(id);
}

async function idocXml(req, res) {
    if (req.method !== 'POST') {
        return send(res, 405, { allow: 'POST', 'content-type': 'text/plain' }, 'POST the IDoc XML');
    }
    const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    const body = await readBody(req);
    stats.idocPosts += 1;
    if (!IDOC_TYPES.has(type)) {
        return send(res, 415, { 'content-type': 'text/plain' }, `content type ${type || '(none)'} is not XML`);
    }
    const failure = idocFailures.shift();
    if (failure) {
        const headers = { 'content-type': 'text/html' };
        if (failure.retryAfter) {
            headers['retry-after'] = String(failure.retryAfter);
        }
        return send(res, failure.status, headers, failure.body || '<html><body>Service unavailable</body></html>');
    }
    if (!/<IDOC\b[^>]*BEGIN="1"/.test(body) || !/<EDI_DC40\b/.test(body)) {
        return send(res, 400, { 'content-type': 'text/html' }, '<html><body>The XML is not an IDoc: no IDOC with an EDI_DC40 control record</body></html>');
    }
    const client = new URL(req.url, 'http://x').searchParams.get('sap-client') || '000';
    const docnums = [...body.matchAll(/<DOCNUM>(\d+)<\/DOCNUM>/g)].map((m) => m[1]);
    if (!idocs.has(client)) {
        idocs.set(client, []);
    }
    idocs.get(client).push({ docnums, body });
    return send(res, 200, { 'content-type': 'text/plain' }, '');
}

function control(req, res) {
    if (req.url === '/__control/invalidate-csrf' && req.method === 'POST') {
        for (const session of sessions.values()) {
            session.csrf = null;
        }
        return send(res, 204, {}, '');
    }
    if (req.url === '/__control/stats') {
        return send(res, 200, { 'content-type': 'application/json' }, JSON.stringify(stats));
    }
    if (req.url.startsWith('/__control/idocs')) {
        const client = new URL(req.url, 'http://x').searchParams.get('client') || '000';
        return send(res, 200, { 'content-type': 'application/json' }, JSON.stringify(idocs.get(client) || []));
    }
    if (req.url === '/__control/idoc-failures' && req.method === 'POST') {
        return readBody(req).then((text) => {
            idocFailures.push(...JSON.parse(text));
            send(res, 204, {}, '');
        });
    }
    return send(res, 404, {}, '');
}

async function main() {
    const port = Number(process.argv[2] || 0);
    const root = path.join(__dirname, 'services');
    const mockserver = new FEMockserver({
        debug: false,
        contextBasedIsolation: true,
        services: SERVICES.map((name) => {
            const folder = path.join(root, name.split(';')[0]);
            return {
                urlPath: '/sap/opu/odata/sap/' + name,
                metadataPath: path.join(folder, 'metadata.xml'),
                mockdataPath: path.join(folder, 'data'),
                generateMockData: false,
                forceNullableValuesToNull: true
            };
        })
    });
    await mockserver.isReady;
    const router = mockserver.getRouter();

    const server = http.createServer((req, res) => {
        if (req.url.startsWith('/__control/')) {
            return control(req, res);
        }
        if (req.url.split('?')[0] === TOKEN_PATH && req.method === 'POST') {
            return oauthToken(req, res);
        }
        if (!authenticated(req)) {
            return send(res, 401, { 'www-authenticate': 'Basic realm="SAP NetWeaver Application Server [ERB/100]"', 'content-type': 'text/html' },
                '<html><body>Logon failed</body></html>');
        }
        if (req.url.split('?')[0] === IDOC_PATH) {
            return idocXml(req, res);
        }
        stats.requests += 1;
        const session = sessionOf(req, res);
        const asked = String(req.headers['x-csrf-token'] || '');
        if (asked.toLowerCase() === 'fetch' && (req.method === 'GET' || req.method === 'HEAD')) {
            session.csrf = crypto.randomBytes(18).toString('base64');
            stats.csrfFetches += 1;
            res.setHeader('x-csrf-token', session.csrf);
            delete req.headers['x-csrf-token']; // the mock server would answer with a fixed token of its own
        } else if (MODIFYING.has(req.method) && (session.csrf === null || !equal(asked, session.csrf))) {
            stats.csrfRejections += 1;
            return send(res, 403, { 'x-csrf-token': 'Required', 'content-type': 'text/plain' }, 'CSRF token validation failed');
        }
        // SAP accepts a key predicate percent-encoded (pyodata sends A_OutbDeliveryItem%28DeliveryDocument%3D...);
        // the mock server parses keys before decoding: decode the predicate's punctuation for it.
        const q = req.url.indexOf('?');
        const [route, query] = q < 0 ? [req.url, ''] : [req.url.slice(0, q), req.url.slice(q)];
        req.url = route.replace(/%28|%29|%27|%3D|%2C/gi, (m) => decodeURIComponent(m)) + query;
        if (req.method === 'POST' && !req.headers['content-type'] && !Number(req.headers['content-length'] || 0)) {
            // A function import is POSTed without a body (its parameters are in the URL). The mock server
            // parses an empty body as JSON only when the request says JSON; say so, as SAP needs no body.
            req.headers['content-type'] = 'application/json';
        }
        const route404 = (err) => {
            send(res, err ? 500 : 404, { 'content-type': 'text/plain' }, err ? String(err.message || err) : 'Not found');
        };
        if (route.endsWith('/$batch') && req.method === 'POST') {
            // SAP Gateway answers a $batch with 202 Accepted (its parts carry their own statuses); the mock
            // server sets 200. Everything else of the answer is the mock server's.
            stats.batches += 1;
            let status = 200;
            Object.defineProperty(res, 'statusCode', {
                get: () => status,
                set: (value) => { status = value === 200 ? 202 : value; },
                configurable: true
            });
            // The parts' key predicates, percent-encoded as above, decoded for the mock server; the body is
            // then handed on already read (body-parser's documented req._body), the rest is unchanged.
            return readBody(req).then((text) => {
                const decoded = text.replace(/^([A-Z]+) (\S+) (HTTP\/1\.1)\r?$/gm, (line, verb, target, version) => {
                    const at = target.indexOf('?');
                    const [where, rest] = at < 0 ? [target, ''] : [target.slice(0, at), target.slice(at)];
                    return `${verb} ${where.replace(/%28|%29|%27|%3D|%2C/gi, (m) => decodeURIComponent(m))}${rest} ${version}` +
                        (line.endsWith('\r') ? '\r' : '');
                });
                req.body = Buffer.from(decoded, 'utf-8');
                req._body = true;
                router(req, res, route404);
            });
        }
        router(req, res, route404);
    });
    server.listen(port, '127.0.0.1', () => {
        process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
    });
    const stop = () => server.close(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

main().catch((err) => {
    process.stderr.write(`the SAP OData test server did not start: ${err.stack || err}\n`);
    process.exit(1);
});
