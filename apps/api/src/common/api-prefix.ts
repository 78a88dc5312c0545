/** Every API route lives under this prefix; operations endpoints (health, metrics) do not. */
export const API_PREFIX = 'api/v1';
