'use strict';
// The test peer's master data: the sales area, customers and materials that the behaviour files check
// documents against, as SAP checks a sales order against its customer and material masters. The materials
// are the SKUs of erpbridge's sample 850 (mappings/x12/850-to-purchase-order.samples/).

const salesArea = { SalesOrganization: '1710', DistributionChannel: '10', OrganizationDivision: '00' };

const customers = {
    17100001: 'MEGAMART STORES INC',
    17100002: 'BLUE RIVER OUTFITTERS'
};

// material -> [description, net price per EA in USD]
const materials = {
    'NW-TS-BLK-S': ['Crew tee black S', '9.50'],
    'NW-TS-BLK-M': ['Crew tee black M', '9.50'],
    'NW-TS-BLK-L': ['Crew tee black L', '9.50'],
    'NW-TS-WHT-M': ['Crew tee white M', '9.50'],
    'NW-HD-NVY-M': ['Pullover hoodie navy M', '24.75'],
    'NW-HD-NVY-L': ['Pullover hoodie navy L', '24.75'],
    'NW-JG-GRY-M': ['Jogger grey M', '19.00'],
    'NW-JG-GRY-L': ['Jogger grey L', '19.00'],
    'NW-CP-BLK-OS': ['Cap black one size', '7.25'],
    'NW-SK-WHT-3P': ['Socks white 3-pack', '4.50']
};

module.exports = { salesArea, customers, materials };
