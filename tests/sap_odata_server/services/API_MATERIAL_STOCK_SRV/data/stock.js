'use strict';
// The stock rows of the test peer (A_MatlStkInAcctMod), generated from the master data so that there are
// several pages of them: every material in plant 1710 in storage locations 171A and 171B (unrestricted-use
// stock, stock type 01), some in quality inspection (02) and blocked (07), and five in plant 1720.

const { materials } = require('../../masterdata');

function row(material, plant, storageLocation, stockType, quantity) {
    return {
        Material: material,
        Plant: plant,
        StorageLocation: storageLocation,
        Batch: '',
        Supplier: '',
        Customer: '',
        WBSElementInternalID: '00000000',
        SDDocument: '',
        SDDocumentItem: '000000',
        InventorySpecialStockType: '',
        InventoryStockType: stockType,
        MaterialBaseUnit: 'EA',
        MatlWrhsStkQtyInMatlBaseUnit: quantity.toFixed(3)
    };
}

function stockRows() {
    const rows = [];
    Object.keys(materials).forEach((material, i) => {
        rows.push(row(material, '1710', '171A', '01', 100 * (i + 1)));
        rows.push(row(material, '1710', '171B', '01', 10 * (i + 1) + 0.5));
        if (i < 3) {
            rows.push(row(material, '1710', '171A', '02', 3 + i));
        }
        if (i === 4) {
            rows.push(row(material, '1710', '171A', '07', 2));
        }
        if (i < 5) {
            rows.push(row(material, '1720', '172A', '01', 7 * (i + 1)));
        }
    });
    return rows;
}

module.exports = { stockRows };
