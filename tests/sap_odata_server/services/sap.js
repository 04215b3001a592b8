'use strict';
// Helpers shared by the behaviour files (services/*/data/*.js): SAP Gateway's JSON error body, ETags and
// the If-Match check. Loaded with require() from the mock server's documented <EntitySet>.js hooks.

const crypto = require('crypto');

// SAP Gateway's OData V2 error body: error.code, error.message.value, innererror.errordetails.
// Codes are "<message class>/<number>" as SAP shows them; see SOURCES.md for which ones are SAP's own.
function errorBody(service, code, message, details = []) {
    const now = new Date().toISOString().replace(/[-:TZ]/g, '') + '0000';
    return {
        error: {
            code,
            message: { lang: 'en', value: message },
            innererror: {
                application: { component_id: '', service_namespace: '/SAP/', service_id: service, service_version: '0001' },
                transactionid: crypto.randomBytes(16).toString('hex').toUpperCase(),
                timestamp: now,
                Error_Resolution: {
                    SAP_Transaction: 'For backend administrators: use ADT feed reader "SAP Gateway Error Log" or run transaction /IWFND/ERROR_LOG on SAP Gateway hub system and search for entries with the timestamp above for more details',
                    SAP_Note: 'See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)'
                },
                errordetails: [{ code, message, propertyref: '', severity: 'error', target: '', transition: false }].concat(
                    details.map((d) => ({ propertyref: '', severity: 'error', target: '', transition: false, ...d }))
                )
            }
        }
    };
}

// Throws an SAP-shaped error from a hook (the mock server's documented this.throwError).
function fail(hook, status, service, code, message, details = [], headers = {}) {
    const body = errorBody(service, code, message, details);
    if (status === 412) {
        // In a $batch changeset the mock server combines the 412 answers of its parts into one, reading
        // error.details (OData V4's shape): give it an empty list beside SAP's V2 innererror.
        body.error.details = [];
    }
    hook.throwError(message, status, body, false, { 'content-type': 'application/json', ...headers });
}

// A weak ETag over an entry's own properties (not its navigation properties or __metadata).
function etagOf(entry) {
    const plain = {};
    for (const key of Object.keys(entry).sort()) {
        const value = entry[key];
        if (key !== '__metadata' && (value === null || typeof value !== 'object')) {
            plain[key] = value;
        }
    }
    return 'W/"' + crypto.createHash('sha1').update(JSON.stringify(plain)).digest('hex') + '"';
}

// The If-Match check SAP makes on entities with an ETag: 428 when it is missing, 412 when it is stale.
function checkIfMatch(hook, odataRequest, current, service, what) {
    const given = odataRequest.headers ? odataRequest.headers['if-match'] : odataRequest.etagReference;
    if (!given) {
        fail(hook, 428, service, '/IWBEP/CM_MGW_RT/021', `${what}: the request needs an If-Match header with the entity's ETag`);
    }
    if (given !== '*' && given !== etagOf(current)) {
        fail(hook, 412, service, '/IWBEP/CM_MGW_RT/022', `${what} was changed by someone else: the ETag ${given} is not the current one`);
    }
}

function today() {
    const now = new Date();
    return `/Date(${Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())})/`;
}

module.exports = { errorBody, fail, etagOf, checkIfMatch, today };
