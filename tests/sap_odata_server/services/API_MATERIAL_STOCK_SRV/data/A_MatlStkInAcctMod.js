'use strict';
// Initial data of A_MatlStkInAcctMod, through the mock server's documented getInitialDataSet hook.
const { stockRows } = require('./stock');

module.exports = {
    getInitialDataSet() {
        return stockRows();
    }
};
