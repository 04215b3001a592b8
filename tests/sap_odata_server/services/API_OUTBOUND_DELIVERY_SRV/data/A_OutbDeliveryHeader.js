'use strict';
// Behaviour of A_OutbDeliveryHeader that the mock server lacks (its documented <EntitySet>.js hooks):
//  - ETags: every header read carries __metadata.etag (and an ETag response header when one entity is
//    read), computed from the stored entry, so that any change gives a new ETag; expanded items get theirs;
//  - the PostGoodsIssue function import (executeAction): needs If-Match with the header's ETag, like SAP;
//    checks that picking is complete and that goods issue is not posted yet, then posts it;
//  - an empty date is null, as SAP sends it (the mock server turns a null Edm.DateTime into /Date(0)/).

const { checkIfMatch, etagOf, fail, today } = require('../../sap');

const SERVICE = 'API_OUTBOUND_DELIVERY_SRV';

function parameter(odataRequest, name) {
    const raw = odataRequest.allParams ? odataRequest.allParams.get(name) : null;
    return raw && raw.startsWith("'") && raw.endsWith("'") ? raw.slice(1, -1) : raw;
}

module.exports = {
    async onAfterRead(data, odataRequest) {
        const rows = Array.isArray(data) ? data : data ? [data] : [];
        const itemSet = await this.base.getEntityInterface('A_OutbDeliveryItem');
        for (const row of rows) {
            const [stored] = await this.base.fetchEntries({ DeliveryDocument: row.DeliveryDocument }, odataRequest);
            if (!stored) {
                continue;
            }
            row.__metadata = { ...(row.__metadata || {}), etag: etagOf(stored) };
            if (row.ActualGoodsMovementDate === '/Date(0)/') {
                row.ActualGoodsMovementDate = null;
            }
            const expanded = row.to_DeliveryDocumentItem && row.to_DeliveryDocumentItem.results;
            for (const item of expanded || []) {
                const [storedItem] = await itemSet.fetchEntries(
                    { DeliveryDocument: item.DeliveryDocument, DeliveryDocumentItem: item.DeliveryDocumentItem }, odataRequest);
                if (storedItem) {
                    item.__metadata = { ...(item.__metadata || {}), etag: etagOf(storedItem) };
                }
            }
        }
        if (!Array.isArray(data) && rows.length === 1 && rows[0].__metadata && rows[0].__metadata.etag) {
            odataRequest.addResponseHeader('etag', rows[0].__metadata.etag);
        }
        return data;
    },

    async executeAction(action, actionData, keys, odataRequest) {
        if (action.name !== 'PostGoodsIssue') {
            this.throwError('Not implemented', 501, { error: { message: `Function import ${action.name} is not mocked` } });
        }
        const delivery = parameter(odataRequest, 'DeliveryDocument');
        const [header] = delivery ? await this.base.fetchEntries({ DeliveryDocument: delivery }, odataRequest) : [];
        if (!header) {
            fail(this, 404, SERVICE, 'VL/001', `Delivery ${delivery || '(empty)'} does not exist`);
        }
        checkIfMatch(this, odataRequest, header, SERVICE, `Delivery ${delivery}`);
        if (header.OverallGoodsMovementStatus === 'C') {
            fail(this, 400, SERVICE, 'VL/602', `Goods issue for delivery ${delivery} has already been posted`);
        }
        if (header.OverallPickingStatus !== 'C') {
            fail(this, 400, SERVICE, 'VL/609', `Delivery ${delivery}: picking is not complete; report the picked quantities first`);
        }
        const itemSet = await this.base.getEntityInterface('A_OutbDeliveryItem');
        for (const item of (await itemSet.getAllEntries(odataRequest)).filter((i) => i.DeliveryDocument === delivery)) {
            const key = { DeliveryDocument: delivery, DeliveryDocumentItem: item.DeliveryDocumentItem };
            await itemSet.updateEntry(key, { ...item, GoodsMovementStatus: 'C' }, { GoodsMovementStatus: 'C' }, odataRequest);
        }
        const changes = { OverallGoodsMovementStatus: 'C', ActualGoodsMovementDate: today(), LastChangeDate: today() };
        await this.base.updateEntry({ DeliveryDocument: delivery }, changes, odataRequest);
        const [posted] = await this.base.fetchEntries({ DeliveryDocument: delivery }, odataRequest);
        odataRequest.addResponseHeader('etag', etagOf(posted));
        return { ...posted };
    }
};
