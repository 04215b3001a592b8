'use strict';
// Behaviour of A_SalesOrder that the mock server lacks (its documented <EntitySet>.js hook, addEntry):
//  - the deep insert: the header's to_Item (an array or {results: [...]}) becomes A_SalesOrderItem entries,
//    numbered 10, 20, ... as SAP numbers them; header and items are created together or not at all;
//  - SAP's number assignment (SalesOrder from a number range) and the statuses and amounts SAP derives;
//  - business checks against the master data, failing with SAP's JSON error body (400);
//  - a way to make the service fail on purpose: PurchaseOrderByCustomer "SIMULATE-503..." answers 503 and
//    "SIMULATE-429..." answers 429, both with Retry-After, as an overloaded system does.

const { fail } = require('../../sap');
const { salesArea, customers, materials } = require('../../masterdata');

const SERVICE = 'API_SALES_ORDER_SRV';

function itemsOf(entry) {
    const items = entry.to_Item;
    if (items === undefined || items === null) {
        return [];
    }
    return Array.isArray(items) ? items : items.results || [];
}

function decimal(value) {
    const n = Number(value);
    return Number.isFinite(n) ? n : NaN;
}

module.exports = {
    async addEntry(entry, odataRequest) {
        const po = String(entry.PurchaseOrderByCustomer || '');
        if (po.startsWith('SIMULATE-503')) {
            fail(this, 503, SERVICE, '/IWFND/CM_BEC/026', 'The backend system is temporarily unavailable; try again later', [], { 'retry-after': '120' });
        }
        if (po.startsWith('SIMULATE-429')) {
            fail(this, 429, SERVICE, '/IWFND/CM_BEC/029', 'Too many requests; try again later', [], { 'retry-after': '7' });
        }
        const items = itemsOf(entry);
        const problems = [];
        if (!customers[entry.SoldToParty]) {
            problems.push({ code: 'V1/302', message: `Sold-to party ${entry.SoldToParty || '(empty)'} not maintained for sales area ${salesArea.SalesOrganization}/${salesArea.DistributionChannel}/${salesArea.OrganizationDivision}`, target: 'SoldToParty' });
        }
        if (items.length === 0) {
            problems.push({ code: 'V1/555', message: 'The sales document is not yet complete: enter at least one item', target: 'to_Item' });
        }
        items.forEach((item, index) => {
            if (!materials[item.Material]) {
                problems.push({ code: 'M3/305', message: `The material ${item.Material || '(empty)'} does not exist or is not activated`, target: `to_Item(${index})/Material` });
            }
            if (!(decimal(item.RequestedQuantity) > 0)) {
                problems.push({ code: 'V1/010', message: `Item ${index + 1}: enter a quantity greater than zero`, target: `to_Item(${index})/RequestedQuantity` });
            }
        });
        if (problems.length) {
            fail(this, 400, SERVICE, problems[0].code, problems[0].message, problems.slice(1));
        }

        const existing = await this.base.getAllEntries(odataRequest);
        const last = existing.map((e) => Number(e.SalesOrder)).filter(Number.isFinite).reduce((a, b) => Math.max(a, b), 0);
        const salesOrder = String(last + 1);
        const now = Date.now();
        const created = items.map((item, index) => {
            const quantity = decimal(item.RequestedQuantity);
            return {
                ...item,
                SalesOrder: salesOrder,
                SalesOrderItem: item.SalesOrderItem || String((index + 1) * 10),
                SalesOrderItemCategory: 'TAN',
                SalesOrderItemText: item.SalesOrderItemText || materials[item.Material][0],
                PurchaseOrderByCustomer: entry.PurchaseOrderByCustomer,
                NetAmount: (quantity * decimal(materials[item.Material][1])).toFixed(2),
                TransactionCurrency: entry.TransactionCurrency || 'USD',
                Plant: item.Plant || salesArea.SalesOrganization,
                SDProcessStatus: 'A',
                DeliveryStatus: 'A'
            };
        });
        const header = { ...entry };
        delete header.to_Item;
        Object.assign(header, salesArea, {
            SalesOrder: salesOrder,
            SalesOrderType: entry.SalesOrderType || 'OR',
            CreationDate: `/Date(${now - (now % 86400000)})/`,
            LastChangeDateTime: `/Date(${now}+0000)/`,
            TransactionCurrency: entry.TransactionCurrency || 'USD',
            TotalNetAmount: created.reduce((sum, i) => sum + decimal(i.NetAmount), 0).toFixed(2),
            OverallSDProcessStatus: 'A',
            OverallTotalDeliveryStatus: 'A',
            OverallSDDocumentRejectionSts: 'A'
        });
        await this.base.addEntry(header, odataRequest);
        const itemSet = await this.base.getEntityInterface('A_SalesOrderItem');
        for (const item of created) {
            await itemSet.addEntry(item, odataRequest);
        }
        // The answer to the POST is the entry object itself: the created header with its items.
        for (const key of Object.keys(entry)) {
            delete entry[key];
        }
        Object.assign(entry, header, { to_Item: { results: created } });
    }
};
