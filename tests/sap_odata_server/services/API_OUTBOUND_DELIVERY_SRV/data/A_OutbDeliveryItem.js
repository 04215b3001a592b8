'use strict';
// Behaviour of A_OutbDeliveryItem that the mock server lacks (its documented <EntitySet>.js hooks):
//  - ETags on reads (__metadata.etag, and the ETag response header for one entity);
//  - updates (PATCH/MERGE) need If-Match with the item's current ETag: 428 without it, 412 when it is
//    stale, as SAP answers; the picked quantity is checked, the item and the header's picking status
//    follow, and the answer is 204 with the new ETag, as SAP Gateway answers an update.

const { checkIfMatch, etagOf, fail, today } = require('../../sap');

const SERVICE = 'API_OUTBOUND_DELIVERY_SRV';

module.exports = {
    async onAfterRead(data, odataRequest) {
        const rows = Array.isArray(data) ? data : data ? [data] : [];
        for (const row of rows) {
            const key = { DeliveryDocument: row.DeliveryDocument, DeliveryDocumentItem: row.DeliveryDocumentItem };
            const [stored] = await this.base.fetchEntries(key, odataRequest);
            if (stored) {
                row.__metadata = { ...(row.__metadata || {}), etag: etagOf(stored) };
            }
        }
        if (!Array.isArray(data) && rows.length === 1 && rows[0].__metadata && rows[0].__metadata.etag) {
            odataRequest.addResponseHeader('etag', rows[0].__metadata.etag);
        }
        return data;
    },

    async updateEntry(keyValues, updatedData, patchData, odataRequest) {
        if (odataRequest.queryPath[0].path !== 'A_OutbDeliveryItem') {
            return this.base.updateEntry(keyValues, patchData, odataRequest); // posting goods issue, not a client's update
        }
        const what = `Delivery ${keyValues.DeliveryDocument} item ${keyValues.DeliveryDocumentItem}`;
        const [current] = await this.base.fetchEntries(keyValues, odataRequest);
        checkIfMatch(this, odataRequest, current, SERVICE, what);
        if (current.GoodsMovementStatus === 'C') {
            fail(this, 400, SERVICE, 'VL/602', `${what}: goods issue has been posted; the delivery can no longer be changed`);
        }
        const quantity = Number(patchData.ActualDeliveryQuantity);
        if ('ActualDeliveryQuantity' in patchData && !(quantity >= 0 && quantity <= Number(current.OriginalDeliveryQuantity))) {
            fail(this, 400, SERVICE, 'VL/321', `${what}: picked quantity ${patchData.ActualDeliveryQuantity} must be between 0 and the delivery quantity ${current.OriginalDeliveryQuantity}`);
        }
        const changes = { ...patchData, PickingStatus: 'C' };
        if ('ActualDeliveryQuantity' in patchData) {
            changes.ActualDeliveryQuantity = quantity.toFixed(3); // Edm.Decimal is a string in OData V2 JSON
        }
        await this.base.updateEntry(keyValues, changes, odataRequest);
        const siblings = (await this.base.getAllEntries(odataRequest)).filter((i) => i.DeliveryDocument === keyValues.DeliveryDocument);
        const headerSet = await this.base.getEntityInterface('A_OutbDeliveryHeader');
        const headerKey = { DeliveryDocument: keyValues.DeliveryDocument };
        const [header] = await headerSet.fetchEntries(headerKey, odataRequest);
        const headerChanges = { OverallPickingStatus: siblings.every((i) => i.PickingStatus === 'C') ? 'C' : 'B', LastChangeDate: today() };
        await headerSet.updateEntry(headerKey, { ...header, ...headerChanges }, headerChanges, odataRequest);
        const [updated] = await this.base.fetchEntries(keyValues, odataRequest);
        Object.assign(updatedData, updated);
        odataRequest.statusCode = 204;
        odataRequest.addResponseHeader('etag', etagOf(updated));
    }
};
