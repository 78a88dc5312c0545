/** The product's name, as the toolbar and every browser tab show it. */
export const PRODUCT_NAME = 'ads-token-keeper';
