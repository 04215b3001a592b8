'use strict';
// Initial data of A_MaterialStock (one entry per material), through the documented getInitialDataSet hook.
const { stockRows } = require('./stock');

module.exports = {
    getInitialDataSet() {
        const seen = new Map();
        for (const row of stockRows()) {
            seen.set(row.Material, { Material: row.Material, MaterialBaseUnit: row.MaterialBaseUnit });
        }
        return [...seen.values()];
    }
};
