'use strict';
// Behaviour of A_OutbDeliveryHeader that the mock server lacks (its documented <EntitySet>.js hooks):
//  - ETags: every header read carries __metadata.etag (and an ETag response header when one entity is
//    read), computed from the stored entry, so that any change gives a new ETag; expanded items get theirs;
//  - the function imports PostGoodsIssue, PickAllItems and ReverseGoodsIssue (executeAction, ACTIONS below):
//    each needs If-Match with the header's ETag, like SAP, checks the delivery's statuses, then changes it;
//  - an empty date is null, as SAP sends it (the mock server turns a null Edm.DateTime into /Date(0)/).

const { checkIfMatch, etagOf, fail, today } = require('../../sap');

const SERVICE = 'API_OUTBOUND_DELIVERY_SRV';

function parameter(odataRequest, name) {
    const raw = odataRequest.allParams ? odataRequest.allParams.get(name) : null;
    return raw && raw.startsWith("'") && raw.endsWith("'") ? raw.slice(1, -1) : raw;
}

// The function imports, each given the delivery, its stored header and a way to change every item; each
// returns the header's changes. If-Match with the header's ETag is checked before (as for PostGoodsIssue).
const ACTIONS = {
    // Posts goods issue: picking must be complete, and goods issue not posted yet.
    async PostGoodsIssue({ delivery, header, setItems }) {
        if (header.OverallGoodsMovementStatus === 'C') {
            fail(this, 400, SERVICE, 'VL/602', `Goods issue for delivery ${delivery} has already been posted`);
        }
        if (header.OverallPickingStatus !== 'C') {
            fail(this, 400, SERVICE, 'VL/609', `Delivery ${delivery}: picking is not complete; report the picked quantities first`);
        }
        await setItems(() => ({ GoodsMovementStatus: 'C' }));
        return { OverallGoodsMovementStatus: 'C', ActualGoodsMovementDate: today() };
    },
    // Picks every item in full (its delivery quantity becomes the original quantity): not after goods issue.
    async PickAllItems({ delivery, header, setItems }) {
        if (header.OverallGoodsMovementStatus === 'C') {
            fail(this, 400, SERVICE, 'VL/602', `Delivery ${delivery}: goods issue has been posted; the delivery can no longer be changed`);
        }
        await setItems((item) => ({
            ActualDeliveryQuantity: Number(item.OriginalDeliveryQuantity).toFixed(3),
            PickingStatus: 'C'
        }));
        return { OverallPickingStatus: 'C' };
    },
    // Reverses a posted goods issue (SAP's VL09) on the date given: the delivery stays picked, its goods
    // movement status goes back to "not yet posted".
    async ReverseGoodsIssue({ delivery, header, setItems, odataRequest }) {
        if (header.OverallGoodsMovementStatus !== 'C') {
            fail(this, 400, SERVICE, 'VL/610', `Delivery ${delivery}: goods issue has not been posted, so it cannot be reversed`);
        }
        const date = parameter(odataRequest, 'ActualGoodsMovementDate');
        if (!date || !/^datetime'\d{4}-\d{2}-\d{2}T/.test(date)) {
            fail(this, 400, SERVICE, '/IWBEP/CM_MGW_RT/020', `ReverseGoodsIssue needs ActualGoodsMovementDate (datetime'YYYY-MM-DDT00:00:00'), not ${date || 'nothing'}`);
        }
        await setItems(() => ({ GoodsMovementStatus: 'A' }));
        return { OverallGoodsMovementStatus: 'A', ActualGoodsMovementDate: null };
    }
};

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
        const run = ACTIONS[action.name];
        if (!run) {
            this.throwError('Not implemented', 501, { error: { message: `Function import ${action.name} is not mocked` } });
        }
        const delivery = parameter(odataRequest, 'DeliveryDocument');
        const [header] = delivery ? await this.base.fetchEntries({ DeliveryDocument: delivery }, odataRequest) : [];
        if (!header) {
            fail(this, 404, SERVICE, 'VL/001', `Delivery ${delivery || '(empty)'} does not exist`);
        }
        checkIfMatch(this, odataRequest, header, SERVICE, `Delivery ${delivery}`);
        const itemSet = await this.base.getEntityInterface('A_OutbDeliveryItem');
        const items = (await itemSet.getAllEntries(odataRequest)).filter((i) => i.DeliveryDocument === delivery);
        const setItems = async (changesOf) => {
            for (const item of items) {
                const changes = changesOf(item);
                const key = { DeliveryDocument: delivery, DeliveryDocumentItem: item.DeliveryDocumentItem };
                await itemSet.updateEntry(key, { ...item, ...changes }, changes, odataRequest);
            }
        };
        const changes = await run.call(this, { delivery, header, setItems, odataRequest });
        await this.base.updateEntry({ DeliveryDocument: delivery }, { ...changes, LastChangeDate: today() }, odataRequest);
        const [after] = await this.base.fetchEntries({ DeliveryDocument: delivery }, odataRequest);
        odataRequest.addResponseHeader('etag', etagOf(after));
        return { ...after };
    }
};
